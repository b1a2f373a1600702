-- The network's legal identity, set once by an admin, printed on the tax
-- receipts of donations (mécénat en nature, article 238 bis of the French
-- tax code) and on erasure certificates; and a donor company's SIREN.

-- +goose Up
CREATE TABLE network_identity (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    legal_name   TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    siren        TEXT NOT NULL DEFAULT '',
    rna          TEXT NOT NULL DEFAULT '',
    purpose      TEXT NOT NULL DEFAULT '',
    tax_receipts BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at   TIMESTAMPTZ
);
INSERT INTO network_identity (id) VALUES (1);
ALTER TABLE organizations ADD COLUMN siren TEXT;

-- +goose Down
ALTER TABLE organizations DROP COLUMN siren;
DROP TABLE network_identity;
