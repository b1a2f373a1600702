-- Tax receipts for donations in kind (mécénat en nature, article 238 bis of
-- the French tax code): numbered per calendar year, in order, without gaps,
-- never reused. The counter row of a year is taken in the receipt's own
-- transaction, so that a receipt that fails takes no number; a cancelled
-- receipt keeps its number and says why. A receipt keeps what it printed
-- (both identities, the devices by category) as it was on the day.

-- +goose Up
CREATE TABLE tax_receipt_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);
CREATE TABLE tax_receipts (
    id            BIGSERIAL PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    year          INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    donation_id   BIGINT NOT NULL REFERENCES donations (id),
    value_cents   BIGINT NOT NULL CHECK (value_cents > 0),
    valuation     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('issued', 'cancelled')),
    cancel_reason TEXT NOT NULL DEFAULT '',
    cancelled_at  TIMESTAMPTZ,
    issued_at     TIMESTAMPTZ NOT NULL,
    issued_by     BIGINT REFERENCES users (id),
    snapshot      TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE UNIQUE INDEX tax_receipts_one_issued_idx ON tax_receipts (donation_id) WHERE status = 'issued';

-- +goose Down
DROP TABLE tax_receipts;
DROP TABLE tax_receipt_counters;
