-- A wrong current password typed before a password change counts toward
-- that change's own limit, not the account's logins: five of them used to
-- lock the account out of its own login for the window. A password check
-- is recorded before it is made (pending), so that concurrent guesses meet
-- the limits exactly.

-- +goose Up
ALTER TABLE login_attempts ADD COLUMN via TEXT NOT NULL DEFAULT 'login';
ALTER TABLE login_attempts ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE login_attempts DROP COLUMN pending;
ALTER TABLE login_attempts DROP COLUMN via;
