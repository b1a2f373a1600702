-- Transfers carry accessories by quantity: picked at the source, counted
-- on arrival; what was shipped and not counted is reported missing.

-- +goose Up
CREATE TABLE transfer_accessories (
    transfer_id  INTEGER NOT NULL REFERENCES transfers (id),
    accessory_id INTEGER NOT NULL REFERENCES accessories (id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    received     INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),
    PRIMARY KEY (transfer_id, accessory_id)
);

-- +goose Down
DROP TABLE transfer_accessories;
