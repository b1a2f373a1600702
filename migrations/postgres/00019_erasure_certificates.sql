-- Erasure certificates are issued once and kept: the same bytes on every
-- download until a device of the donation changes (a new fingerprint, a new
-- issue). Each issue has an unguessable code, printed with a QR code of its
-- public page, and the SHA-256 of its PDF, so that anyone can check a copy.

-- +goose Up
CREATE TABLE erasure_certificates (
    id          BIGSERIAL PRIMARY KEY,
    donation_id BIGINT NOT NULL REFERENCES donations (id),
    code        TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    pdf         BYTEA NOT NULL,
    summary     TEXT NOT NULL,
    issued_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (donation_id, fingerprint)
);
CREATE INDEX erasure_certificates_sha256_idx ON erasure_certificates (sha256);

-- +goose Down
DROP TABLE erasure_certificates;
