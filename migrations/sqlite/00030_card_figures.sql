-- The recharge cards now, per site, status and product, kept among the
-- figures (metric 'cards', day ''): the stock pages read these few rows
-- instead of counting the millions of cards sold over the years. Counted
-- once here from the cards; sales, imports, transfers and the sweep of
-- expired cards keep them since, and `tremplin check` recounts them.

-- +goose Up
INSERT INTO figures (day, org_id, metric, label, shard, n, cents)
    SELECT '', site_id, 'cards', status || '/' || product_id, 0, COUNT(*), 0
    FROM recharge_units GROUP BY site_id, status, product_id;

-- +goose Down
DELETE FROM figures WHERE metric = 'cards';
