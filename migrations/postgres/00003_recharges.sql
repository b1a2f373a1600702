-- Recharges: products, import batches, serialised units with sealed PINs,
-- per-site low-stock thresholds, recharge lines on transfers.

-- +goose Up
CREATE TABLE recharge_products (
    id                   BIGSERIAL PRIMARY KEY,
    operator_id          BIGINT NOT NULL REFERENCES organizations (id),
    name                 TEXT NOT NULL,
    face_value_cents     BIGINT NOT NULL CHECK (face_value_cents > 0),
    price_cents          BIGINT NOT NULL CHECK (price_cents >= 0),
    validity_days        INTEGER CHECK (validity_days > 0),
    low_stock_threshold  INTEGER NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    UNIQUE (id, operator_id)
);

CREATE TABLE recharge_thresholds (
    product_id  BIGINT NOT NULL REFERENCES recharge_products (id),
    site_id     BIGINT NOT NULL REFERENCES organizations (id),
    threshold   INTEGER NOT NULL CHECK (threshold >= 0),
    PRIMARY KEY (product_id, site_id)
);

CREATE TABLE recharge_batches (
    id            BIGSERIAL PRIMARY KEY,
    product_id    BIGINT NOT NULL REFERENCES recharge_products (id),
    site_id       BIGINT NOT NULL REFERENCES organizations (id),
    imported_by   BIGINT REFERENCES users (id),
    imported_at   TIMESTAMPTZ NOT NULL,
    file_sha256   TEXT NOT NULL UNIQUE,
    units         INTEGER NOT NULL
);

-- One row per card. The PIN is sealed (AES-256-GCM) with the key named by
-- pin_key_id; it is never stored in clear. expires_on is YYYY-MM-DD.
CREATE TABLE recharge_units (
    id           BIGSERIAL PRIMARY KEY,
    product_id   BIGINT NOT NULL,
    operator_id  BIGINT NOT NULL,
    batch_id     BIGINT NOT NULL REFERENCES recharge_batches (id),
    site_id      BIGINT NOT NULL REFERENCES organizations (id),
    serial       TEXT NOT NULL,
    pin_sealed   BYTEA,
    pin_key_id   TEXT,
    expires_on   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('available', 'in_transit', 'sold', 'expired', 'void')),
    transfer_id  BIGINT REFERENCES transfers (id),
    sold_at      TIMESTAMPTZ,
    sold_site_id BIGINT REFERENCES organizations (id),
    sale_id      BIGINT,
    -- One foreign key for both: the operator is the product's (and one check
    -- per row instead of two on a million-line import).
    FOREIGN KEY (product_id, operator_id) REFERENCES recharge_products (id, operator_id),
    UNIQUE (operator_id, serial)
);
-- Allocation reads the first-expiring available units of a product at a site.
CREATE INDEX recharge_units_alloc_idx ON recharge_units (product_id, site_id, status, expires_on, id);
-- Partial: cards arrive neither travelling nor sold, so imports skip these.
CREATE INDEX recharge_units_transfer_idx ON recharge_units (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE INDEX recharge_units_sold_idx ON recharge_units (operator_id, sold_at) WHERE sold_at IS NOT NULL;

CREATE TABLE transfer_recharges (
    transfer_id  BIGINT NOT NULL REFERENCES transfers (id),
    product_id   BIGINT NOT NULL REFERENCES recharge_products (id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (transfer_id, product_id)
);

-- +goose Down
DROP TABLE transfer_recharges;
DROP TABLE recharge_units;
DROP TABLE recharge_batches;
DROP TABLE recharge_thresholds;
DROP TABLE recharge_products;
