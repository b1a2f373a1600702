-- Reports read sales and vouchers by period.

-- +goose Up
CREATE INDEX sales_created_idx ON sales (created_at);
CREATE INDEX vouchers_created_idx ON vouchers (created_at);
CREATE INDEX device_events_site_action_idx ON device_events (site_id, action, at);

-- +goose Down
DROP INDEX device_events_site_action_idx;
DROP INDEX vouchers_created_idx;
DROP INDEX sales_created_idx;
