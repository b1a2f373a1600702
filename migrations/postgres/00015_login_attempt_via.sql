-- A wrong current password typed before a password change counts toward
-- that change's own limit, not the account's logins: five of them used to
-- lock the account out of its own login for the window.

-- +goose Up
ALTER TABLE login_attempts ADD COLUMN via TEXT NOT NULL DEFAULT 'login';

-- +goose Down
ALTER TABLE login_attempts DROP COLUMN via;
