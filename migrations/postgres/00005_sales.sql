-- Sales at the counter: sales and their lines, refunds, daily closings, and
-- idempotency keys so that a till's retry never sells twice.

-- +goose Up
CREATE TABLE sales (
    id              BIGSERIAL PRIMARY KEY,
    site_id         BIGINT NOT NULL REFERENCES organizations (id),
    seller_id       BIGINT REFERENCES users (id),
    voucher_id      BIGINT NOT NULL REFERENCES vouchers (id),
    beneficiary_id  BIGINT NOT NULL REFERENCES beneficiaries (id),
    payment_method  TEXT NOT NULL CHECK (payment_method IN ('cash', 'card', 'free')),
    total_cents     BIGINT NOT NULL CHECK (total_cents >= 0),
    local_date      TEXT NOT NULL,
    receipt_prints  INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sales_site_date_idx ON sales (site_id, local_date);
CREATE INDEX sales_voucher_idx ON sales (voucher_id);
CREATE INDEX sales_beneficiary_idx ON sales (beneficiary_id, created_at);

CREATE TABLE refunds (
    id            BIGSERIAL PRIMARY KEY,
    sale_id       BIGINT NOT NULL REFERENCES sales (id),
    site_id       BIGINT NOT NULL REFERENCES organizations (id),
    user_id       BIGINT REFERENCES users (id),
    reason        TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    local_date    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_site_date_idx ON refunds (site_id, local_date);

CREATE TABLE sale_lines (
    id                BIGSERIAL PRIMARY KEY,
    sale_id           BIGINT NOT NULL REFERENCES sales (id),
    kind              TEXT NOT NULL CHECK (kind IN ('device', 'recharge')),
    device_id         BIGINT REFERENCES devices (id),
    product_id        BIGINT REFERENCES recharge_products (id),
    recharge_unit_id  BIGINT REFERENCES recharge_units (id),
    description       TEXT NOT NULL,
    price_cents       BIGINT NOT NULL CHECK (price_cents >= 0),
    face_value_cents  BIGINT,
    refund_id         BIGINT REFERENCES refunds (id)
);
CREATE INDEX sale_lines_sale_idx ON sale_lines (sale_id);
-- A device or a card is on one sale line at most while it stays sold.
CREATE UNIQUE INDEX sale_lines_unit_idx ON sale_lines (recharge_unit_id) WHERE recharge_unit_id IS NOT NULL;
CREATE INDEX sale_lines_device_idx ON sale_lines (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE idempotency_keys (
    user_id       BIGINT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    sale_id       BIGINT REFERENCES sales (id),
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE closings (
    site_id              BIGINT NOT NULL REFERENCES organizations (id),
    local_date           TEXT NOT NULL,
    counted_cash_cents   BIGINT NOT NULL,
    expected_cash_cents  BIGINT NOT NULL,
    difference_cents     BIGINT NOT NULL,
    user_id              BIGINT REFERENCES users (id),
    created_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, local_date)
);

-- +goose Down
DROP TABLE closings;
DROP TABLE idempotency_keys;
DROP TABLE sale_lines;
DROP TABLE refunds;
DROP TABLE sales;
