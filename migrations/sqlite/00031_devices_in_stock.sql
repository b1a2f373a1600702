-- The devices in stock at the spaces, by site and category, with what says
-- whether they are set aside: the prescribers' availability counts them
-- from this index alone, never from the devices sold over the years.

-- +goose Up
CREATE INDEX devices_in_stock_idx ON devices (site_id, category, reserved_voucher_id, reserved_until) WHERE state = 'in_stock';

-- +goose Down
DROP INDEX devices_in_stock_idx;
