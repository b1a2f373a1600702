-- Erasure reports written by the erasure tool (nwipe/ShredOS logs, or a CSV
-- any other tool's export maps to): each is kept as uploaded, byte for
-- byte, with its SHA-256, and records the erasure it proves (the event).

-- +goose Up
CREATE TABLE erasure_reports (
    id          BIGSERIAL PRIMARY KEY,
    device_id   BIGINT NOT NULL REFERENCES devices (id),
    event_id    BIGINT REFERENCES device_events (id),
    tool        TEXT NOT NULL,
    method      TEXT NOT NULL,
    result      TEXT NOT NULL CHECK (result IN ('passed', 'failed')),
    disks       TEXT NOT NULL DEFAULT '[]',
    finished_at TIMESTAMPTZ,
    filename    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    content     BYTEA NOT NULL,
    uploaded_by BIGINT REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX erasure_reports_device_idx ON erasure_reports (device_id, id);

-- +goose Down
DROP TABLE erasure_reports;
