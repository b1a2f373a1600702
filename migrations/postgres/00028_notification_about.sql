-- What a message is about (voucher:12, voucher-reminder:12,
-- reservation:7...): a reminder is queued once per voucher or reservation,
-- whichever process runs the job.

-- +goose Up
ALTER TABLE notifications ADD COLUMN about TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX notifications_about_idx ON notifications (about) WHERE about <> '';

-- +goose Down
DROP INDEX notifications_about_idx;
ALTER TABLE notifications DROP COLUMN about;
