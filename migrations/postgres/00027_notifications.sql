-- Reaching the person: a phone number (E.164) or an email address, kept
-- only with their recorded consent and erased at anonymisation; and the
-- messages queued for them, in the transaction of what caused them, sent
-- by a worker with retries, each at most once.

-- +goose Up
ALTER TABLE beneficiaries ADD COLUMN phone TEXT;
ALTER TABLE beneficiaries ADD COLUMN email TEXT;
ALTER TABLE beneficiaries ADD COLUMN contact_consent BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE notifications (
    id              BIGSERIAL PRIMARY KEY,
    beneficiary_id  BIGINT NOT NULL REFERENCES beneficiaries (id),
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_at      TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    provider_id     TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX notifications_due_idx ON notifications (status, next_attempt_at);
CREATE INDEX notifications_beneficiary_idx ON notifications (beneficiary_id, id);

-- +goose Down
DROP TABLE notifications;
ALTER TABLE beneficiaries DROP COLUMN contact_consent;
ALTER TABLE beneficiaries DROP COLUMN email;
ALTER TABLE beneficiaries DROP COLUMN phone;
