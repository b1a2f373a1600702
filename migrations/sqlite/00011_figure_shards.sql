-- Figures in shards (see the PostgreSQL migration): SQLite runs one writer
-- at a time and always writes shard 0, but keeps the same key so that both
-- engines share their statements.

-- +goose Up
CREATE TABLE figures_sharded (
    day    TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    shard  INTEGER NOT NULL DEFAULT 0,
    n      BIGINT NOT NULL DEFAULT 0,
    cents  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, org_id, metric, label, shard)
);
INSERT INTO figures_sharded (day, org_id, metric, label, shard, n, cents) SELECT day, org_id, metric, label, 0, n, cents FROM figures;
DROP TABLE figures;
ALTER TABLE figures_sharded RENAME TO figures;
CREATE INDEX figures_read_idx ON figures (metric, day, label, org_id, n, cents);
-- The network's figures of many labels are kept by month too (the
-- summary reads a year's months, not its days): the next start recounts
-- them from the history, once.
INSERT INTO figures (day, org_id, metric, label, shard, n, cents) VALUES ('', 0, 'rebuild', 'pending', 0, 1, 0) ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM figures WHERE metric LIKE '%/month';
CREATE TABLE figures_unsharded (
    day    TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    n      BIGINT NOT NULL DEFAULT 0,
    cents  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, org_id, metric, label)
);
INSERT INTO figures_unsharded (day, org_id, metric, label, n, cents)
    SELECT day, org_id, metric, label, SUM(n), SUM(cents) FROM figures GROUP BY day, org_id, metric, label;
DROP TABLE figures;
ALTER TABLE figures_unsharded RENAME TO figures;
CREATE INDEX figures_read_idx ON figures (metric, day, label, org_id, n, cents);
