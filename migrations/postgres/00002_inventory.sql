-- Inventory: donations, devices and their append-only history, asset tag
-- counters, the price grid, stock checks and transfers.

-- +goose Up
CREATE TABLE tag_prefixes (
    category  TEXT PRIMARY KEY,
    prefix    TEXT NOT NULL
);
INSERT INTO tag_prefixes (category, prefix) VALUES
    ('smartphone', 'TEL'), ('feature_phone', 'MOB'), ('laptop', 'PC'),
    ('tablet', 'TAB'), ('desktop', 'UC'), ('other', 'DIV');

-- One counter per prefix: taking the next number is a single UPDATE ... RETURNING,
-- so concurrent registrations serialise on the row and never share a tag.
CREATE TABLE tag_counters (
    prefix  TEXT PRIMARY KEY,
    last_number  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE donations (
    id            BIGSERIAL PRIMARY KEY,
    donor_id      BIGINT NOT NULL REFERENCES organizations (id),
    warehouse_id  BIGINT NOT NULL REFERENCES organizations (id),
    note          TEXT NOT NULL DEFAULT '',
    received_on   TEXT NOT NULL,
    created_by    BIGINT REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX donations_warehouse_idx ON donations (warehouse_id);
CREATE INDEX donations_donor_idx ON donations (donor_id);

CREATE TABLE devices (
    id              BIGSERIAL PRIMARY KEY,
    tag             TEXT NOT NULL UNIQUE,
    donation_id     BIGINT NOT NULL REFERENCES donations (id),
    category        TEXT NOT NULL CHECK (category IN ('smartphone', 'feature_phone', 'laptop', 'tablet', 'desktop', 'other')),
    brand           TEXT NOT NULL,
    model           TEXT NOT NULL,
    serial          TEXT,
    imei            TEXT,
    specs           TEXT NOT NULL DEFAULT '{}',
    grade           TEXT CHECK (grade IN ('A', 'B', 'C', 'D')),
    price_cents     BIGINT CHECK (price_cents >= 0),
    state           TEXT NOT NULL CHECK (state IN ('received', 'diagnosed', 'erased', 'in_repair', 'ready',
                        'in_transit', 'in_stock', 'sold', 'returned', 'recycled', 'lost')),
    site_id         BIGINT NOT NULL REFERENCES organizations (id),
    erased_at       TIMESTAMPTZ,
    erasure_method  TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- An IMEI or serial is held by one live device at a time; a recycled device frees it.
CREATE UNIQUE INDEX devices_imei_live ON devices (imei) WHERE imei IS NOT NULL AND state <> 'recycled';
CREATE UNIQUE INDEX devices_serial_live ON devices (serial) WHERE serial IS NOT NULL AND state <> 'recycled';
CREATE INDEX devices_imei_idx ON devices (imei);
CREATE INDEX devices_serial_idx ON devices (serial);
CREATE INDEX devices_site_state_idx ON devices (site_id, state);
CREATE INDEX devices_donation_idx ON devices (donation_id);

CREATE TABLE device_events (
    id          BIGSERIAL PRIMARY KEY,
    device_id   BIGINT NOT NULL REFERENCES devices (id),
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL DEFAULT '',
    to_state    TEXT NOT NULL,
    user_id     BIGINT REFERENCES users (id),
    site_id     BIGINT REFERENCES organizations (id),
    at          TIMESTAMPTZ NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX device_events_device_idx ON device_events (device_id, id);
CREATE INDEX device_events_action_idx ON device_events (action, at);

CREATE TABLE price_grid (
    category     TEXT NOT NULL,
    grade        TEXT NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
    price_cents  BIGINT NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (category, grade)
);

CREATE TABLE stock_checks (
    id          BIGSERIAL PRIMARY KEY,
    site_id     BIGINT NOT NULL REFERENCES organizations (id),
    user_id     BIGINT REFERENCES users (id),
    at          TIMESTAMPTZ NOT NULL,
    scanned     INTEGER NOT NULL,
    result      TEXT NOT NULL
);
CREATE INDEX stock_checks_site_idx ON stock_checks (site_id, at);

CREATE TABLE transfers (
    id             BIGSERIAL PRIMARY KEY,
    from_site_id   BIGINT NOT NULL REFERENCES organizations (id),
    to_site_id     BIGINT NOT NULL REFERENCES organizations (id),
    status         TEXT NOT NULL CHECK (status IN ('draft', 'shipped', 'received', 'cancelled')),
    note           TEXT NOT NULL DEFAULT '',
    created_by     BIGINT REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL,
    shipped_by     BIGINT REFERENCES users (id),
    shipped_at     TIMESTAMPTZ,
    received_by    BIGINT REFERENCES users (id),
    received_at    TIMESTAMPTZ,
    unexpected     TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX transfers_from_idx ON transfers (from_site_id, status);
CREATE INDEX transfers_to_idx ON transfers (to_site_id, status);

CREATE TABLE transfer_devices (
    transfer_id   BIGINT NOT NULL REFERENCES transfers (id),
    device_id     BIGINT NOT NULL REFERENCES devices (id),
    state_before  TEXT NOT NULL,
    received_at   TIMESTAMPTZ,
    PRIMARY KEY (transfer_id, device_id)
);
CREATE INDEX transfer_devices_device_idx ON transfer_devices (device_id);

-- +goose StatementBegin
CREATE FUNCTION device_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'device_events is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER device_events_no_update BEFORE UPDATE OR DELETE ON device_events
    FOR EACH ROW EXECUTE FUNCTION device_events_append_only();

-- +goose Down
DROP TABLE transfer_devices;
DROP TABLE transfers;
DROP TABLE stock_checks;
DROP TABLE price_grid;
DROP TABLE device_events;
DROP FUNCTION device_events_append_only();
DROP TABLE devices;
DROP TABLE donations;
DROP TABLE tag_counters;
DROP TABLE tag_prefixes;
