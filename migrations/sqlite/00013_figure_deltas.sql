-- Figure deltas (see the PostgreSQL migration): SQLite runs one writer at a
-- time and keeps upserting its figures, so its deltas stay empty; the table
-- and the view exist so that both engines read figure_rows alike.

-- +goose Up
CREATE TABLE figure_deltas (
    day    TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    n      BIGINT NOT NULL DEFAULT 0,
    cents  BIGINT NOT NULL DEFAULT 0
);
CREATE VIEW figure_rows AS
    SELECT day, org_id, metric, label, n, cents FROM figures
    UNION ALL
    SELECT day, org_id, metric, label, n, cents FROM figure_deltas;

-- +goose Down
INSERT INTO figures (day, org_id, metric, label, shard, n, cents)
    SELECT day, org_id, metric, label, 0, SUM(n), SUM(cents) FROM figure_deltas WHERE true GROUP BY day, org_id, metric, label
    ON CONFLICT (day, org_id, metric, label, shard) DO UPDATE SET n = figures.n + excluded.n, cents = figures.cents + excluded.cents;
DROP VIEW figure_rows;
DROP TABLE figure_deltas;
