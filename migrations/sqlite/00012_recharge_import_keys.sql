-- PostgreSQL drops three foreign keys of recharge_units for its bulk
-- imports (see its migration); SQLite keeps them. This version exists on
-- both so that the two engines count their migrations alike.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
