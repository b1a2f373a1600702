-- Accessories sold at the counter, by quantity, at the accessory's price:
-- a sale's accessories beside its lines (devices and cards, one per
-- unit), each with how many were brought back since.

-- +goose Up
CREATE TABLE sale_accessories (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sale_id      INTEGER NOT NULL REFERENCES sales (id),
    accessory_id INTEGER NOT NULL REFERENCES accessories (id),
    description  TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
    refunded     INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= quantity)
);
CREATE INDEX sale_accessories_sale_idx ON sale_accessories (sale_id);

-- +goose Down
DROP TABLE sale_accessories;
