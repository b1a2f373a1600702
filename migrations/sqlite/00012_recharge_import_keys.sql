-- PostgreSQL drops three foreign keys of recharge_units for its bulk
-- imports (see its migration); SQLite keeps them: its imports are small.
-- Both drop the allocation index, which the partial index of the
-- available cards replaces.

-- +goose Up
DROP INDEX recharge_units_alloc_idx;

-- +goose Down
CREATE INDEX recharge_units_alloc_idx ON recharge_units (product_id, site_id, status, expires_on, id);
