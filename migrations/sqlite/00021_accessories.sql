-- Accessories and consumables counted by quantity (chargers, cables, cases,
-- SIM cards, mice): a site's stock is the sum of an append-only ledger of
-- movements. accessory_stock keeps that sum per site, updated in each
-- movement's transaction by a conditional update that never takes it below
-- zero (CHECK too); tremplin check compares it with the ledger.

-- +goose Up
CREATE TABLE accessories (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('charger', 'cable', 'case', 'sim', 'peripheral', 'other')),
    price_cents           INTEGER NOT NULL CHECK (price_cents >= 0),
    reference_price_cents INTEGER,
    barcode               TEXT UNIQUE,
    low_stock_threshold   INTEGER NOT NULL DEFAULT 0,
    active                BOOLEAN NOT NULL DEFAULT TRUE,
    created_at            DATETIME NOT NULL,
    updated_at            DATETIME NOT NULL
);
CREATE TABLE accessory_movements (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    accessory_id INTEGER NOT NULL REFERENCES accessories (id),
    site_id      INTEGER NOT NULL REFERENCES organizations (id),
    quantity     INTEGER NOT NULL CHECK (quantity <> 0),
    kind         TEXT NOT NULL CHECK (kind IN ('receipt', 'correction', 'transfer_out', 'transfer_in', 'sale', 'refund')),
    reason       TEXT NOT NULL DEFAULT '',
    transfer_id  INTEGER,
    sale_id      INTEGER,
    user_id      INTEGER REFERENCES users (id),
    created_at   DATETIME NOT NULL
);
CREATE INDEX accessory_movements_site_idx ON accessory_movements (site_id, accessory_id, id);
CREATE TABLE accessory_stock (
    site_id      INTEGER NOT NULL REFERENCES organizations (id),
    accessory_id INTEGER NOT NULL REFERENCES accessories (id),
    available    INTEGER NOT NULL CHECK (available >= 0),
    PRIMARY KEY (site_id, accessory_id)
);

-- +goose Down
DROP TABLE accessory_stock;
DROP TABLE accessory_movements;
DROP TABLE accessories;
