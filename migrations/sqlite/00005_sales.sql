-- Sales at the counter: sales and their lines, refunds, daily closings, and
-- idempotency keys so that a till's retry never sells twice.

-- +goose Up
CREATE TABLE sales (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id         INTEGER NOT NULL REFERENCES organizations (id),
    seller_id       INTEGER REFERENCES users (id),
    voucher_id      INTEGER NOT NULL REFERENCES vouchers (id),
    beneficiary_id  INTEGER NOT NULL REFERENCES beneficiaries (id),
    payment_method  TEXT NOT NULL CHECK (payment_method IN ('cash', 'card', 'free')),
    total_cents     INTEGER NOT NULL CHECK (total_cents >= 0),
    local_date      TEXT NOT NULL,
    receipt_prints  INTEGER NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL
);
CREATE INDEX sales_site_date_idx ON sales (site_id, local_date);
CREATE INDEX sales_voucher_idx ON sales (voucher_id);
CREATE INDEX sales_beneficiary_idx ON sales (beneficiary_id, created_at);

CREATE TABLE refunds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sale_id       INTEGER NOT NULL REFERENCES sales (id),
    site_id       INTEGER NOT NULL REFERENCES organizations (id),
    user_id       INTEGER REFERENCES users (id),
    reason        TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL,
    local_date    TEXT NOT NULL,
    created_at    DATETIME NOT NULL
);
CREATE INDEX refunds_site_date_idx ON refunds (site_id, local_date);

CREATE TABLE sale_lines (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    sale_id           INTEGER NOT NULL REFERENCES sales (id),
    kind              TEXT NOT NULL CHECK (kind IN ('device', 'recharge')),
    device_id         INTEGER REFERENCES devices (id),
    product_id        INTEGER REFERENCES recharge_products (id),
    recharge_unit_id  INTEGER REFERENCES recharge_units (id),
    description       TEXT NOT NULL,
    price_cents       INTEGER NOT NULL CHECK (price_cents >= 0),
    face_value_cents  INTEGER,
    refund_id         INTEGER REFERENCES refunds (id)
);
CREATE INDEX sale_lines_sale_idx ON sale_lines (sale_id);
-- A device or a card is on one sale line at most while it stays sold.
CREATE UNIQUE INDEX sale_lines_unit_idx ON sale_lines (recharge_unit_id) WHERE recharge_unit_id IS NOT NULL;
CREATE INDEX sale_lines_device_idx ON sale_lines (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE idempotency_keys (
    user_id       INTEGER NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    sale_id       INTEGER REFERENCES sales (id),
    created_at    DATETIME NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE closings (
    site_id              INTEGER NOT NULL REFERENCES organizations (id),
    local_date           TEXT NOT NULL,
    counted_cash_cents   INTEGER NOT NULL,
    expected_cash_cents  INTEGER NOT NULL,
    difference_cents     INTEGER NOT NULL,
    user_id              INTEGER REFERENCES users (id),
    created_at           DATETIME NOT NULL,
    PRIMARY KEY (site_id, local_date)
);

-- +goose Down
DROP TABLE closings;
DROP TABLE idempotency_keys;
DROP TABLE sale_lines;
DROP TABLE refunds;
DROP TABLE sales;
