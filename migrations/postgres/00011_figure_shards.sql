-- Figures in shards, and by month: every sale of a day at a site adds to the same few
-- figures (and every sale of the network to org 0's), and an upsert holds
-- those rows locked until its transaction commits, so concurrent sales
-- queued one behind the other on them. A transaction now adds to one of a
-- few shards of each figure (its connection's), and readers sum the shards.
-- `tremplin reports rebuild` writes one row per figure again.

-- +goose Up
ALTER TABLE figures ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE figures DROP CONSTRAINT figures_pkey;
ALTER TABLE figures ADD PRIMARY KEY (day, org_id, metric, label, shard);
-- The network's figures of many labels are kept by month too (the
-- summary reads a year's months, not its days): the next start recounts
-- them from the history, once.
INSERT INTO figures (day, org_id, metric, label, shard, n, cents) VALUES ('', 0, 'rebuild', 'pending', 0, 1, 0) ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM figures WHERE metric LIKE '%/month';
INSERT INTO figures (day, org_id, metric, label, shard, n, cents)
    SELECT day, org_id, metric, label, 0, SUM(n), SUM(cents) FROM figures WHERE shard <> 0 GROUP BY day, org_id, metric, label
    ON CONFLICT (day, org_id, metric, label, shard) DO UPDATE SET n = figures.n + excluded.n, cents = figures.cents + excluded.cents;
DELETE FROM figures WHERE shard <> 0;
ALTER TABLE figures DROP CONSTRAINT figures_pkey;
ALTER TABLE figures ADD PRIMARY KEY (day, org_id, metric, label);
ALTER TABLE figures DROP COLUMN shard;
