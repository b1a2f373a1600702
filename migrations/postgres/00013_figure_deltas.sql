-- A sale added to about a dozen figures, each an upsert that could not be
-- a HOT update (figures_read_idx carries n and cents so that reports read
-- the index alone): a new entry in two indexes per figure, about a third
-- of a sale's pages and WAL. A transaction now appends its figures to
-- figure_deltas, a heap without an index, and the server folds the deltas
-- into figures every second, many sales' worth of a figure in one upsert
-- (figures.Fold). Readers read figure_rows: the figures and the deltas not
-- yet folded, so a report sees every committed sale whether or not a fold
-- has run. SQLite runs one writer at a time and keeps its upserts; its
-- deltas stay empty.

-- +goose Up
CREATE TABLE figure_deltas (
    day    TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    n      BIGINT NOT NULL DEFAULT 0,
    cents  BIGINT NOT NULL DEFAULT 0
) WITH (
    -- Every row is deleted within a second: vacuumed as soon as a thousand
    -- are dead, so that the readers' scan of the deltas stays a few pages.
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000
);
CREATE VIEW figure_rows AS
    SELECT day, org_id, metric, label, n, cents FROM figures
    UNION ALL
    SELECT day, org_id, metric, label, n, cents FROM figure_deltas;

-- +goose Down
INSERT INTO figures (day, org_id, metric, label, shard, n, cents)
    SELECT day, org_id, metric, label, 0, SUM(n), SUM(cents) FROM figure_deltas GROUP BY day, org_id, metric, label
    ON CONFLICT (day, org_id, metric, label, shard) DO UPDATE SET n = figures.n + excluded.n, cents = figures.cents + excluded.cents;
DROP VIEW figure_rows;
DROP TABLE figure_deltas;
