-- Handover: the network chooses whether the person signs for a device
-- (off, optional, required) and writes the conditions they accept. A sale
-- keeps its handover: the conditions as they were read, and the
-- signature drawn on the screen or a note that it was signed on paper.
-- The signature is erased with the person at anonymisation.

-- +goose Up
ALTER TABLE network_identity ADD COLUMN handover TEXT NOT NULL DEFAULT 'off' CHECK (handover IN ('off', 'optional', 'required'));
ALTER TABLE network_identity ADD COLUMN handover_text TEXT NOT NULL DEFAULT '';
CREATE TABLE sale_handovers (
    sale_id       BIGINT PRIMARY KEY REFERENCES sales (id),
    conditions    TEXT NOT NULL,
    on_paper      BOOLEAN NOT NULL DEFAULT FALSE,
    signature_png BYTEA,
    created_at    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE sale_handovers;
ALTER TABLE network_identity DROP COLUMN handover_text;
ALTER TABLE network_identity DROP COLUMN handover;
