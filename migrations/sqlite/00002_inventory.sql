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
    last_number  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE donations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    donor_id      INTEGER NOT NULL REFERENCES organizations (id),
    warehouse_id  INTEGER NOT NULL REFERENCES organizations (id),
    note          TEXT NOT NULL DEFAULT '',
    received_on   TEXT NOT NULL,
    created_by    INTEGER REFERENCES users (id),
    created_at    DATETIME NOT NULL
);
CREATE INDEX donations_warehouse_idx ON donations (warehouse_id);
CREATE INDEX donations_donor_idx ON donations (donor_id);

CREATE TABLE devices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tag             TEXT NOT NULL UNIQUE,
    donation_id     INTEGER NOT NULL REFERENCES donations (id),
    category        TEXT NOT NULL CHECK (category IN ('smartphone', 'feature_phone', 'laptop', 'tablet', 'desktop', 'other')),
    brand           TEXT NOT NULL,
    model           TEXT NOT NULL,
    serial          TEXT,
    imei            TEXT,
    specs           TEXT NOT NULL DEFAULT '{}',
    grade           TEXT CHECK (grade IN ('A', 'B', 'C', 'D')),
    price_cents     INTEGER CHECK (price_cents >= 0),
    state           TEXT NOT NULL CHECK (state IN ('received', 'diagnosed', 'erased', 'in_repair', 'ready',
                        'in_transit', 'in_stock', 'sold', 'returned', 'recycled', 'lost')),
    site_id         INTEGER NOT NULL REFERENCES organizations (id),
    erased_at       DATETIME,
    erasure_method  TEXT,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
-- An IMEI or serial is held by one live device at a time; a recycled device frees it.
CREATE UNIQUE INDEX devices_imei_live ON devices (imei) WHERE imei IS NOT NULL AND state <> 'recycled';
CREATE UNIQUE INDEX devices_serial_live ON devices (serial) WHERE serial IS NOT NULL AND state <> 'recycled';
CREATE INDEX devices_imei_idx ON devices (imei);
CREATE INDEX devices_serial_idx ON devices (serial);
CREATE INDEX devices_site_state_idx ON devices (site_id, state);
CREATE INDEX devices_donation_idx ON devices (donation_id);

CREATE TABLE device_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL DEFAULT '',
    to_state    TEXT NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    site_id     INTEGER REFERENCES organizations (id),
    at          DATETIME NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX device_events_device_idx ON device_events (device_id, id);
CREATE INDEX device_events_action_idx ON device_events (action, at);

CREATE TABLE price_grid (
    category     TEXT NOT NULL,
    grade        TEXT NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (category, grade)
);

CREATE TABLE stock_checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id     INTEGER NOT NULL REFERENCES organizations (id),
    user_id     INTEGER REFERENCES users (id),
    at          DATETIME NOT NULL,
    scanned     INTEGER NOT NULL,
    result      TEXT NOT NULL
);
CREATE INDEX stock_checks_site_idx ON stock_checks (site_id, at);

CREATE TABLE transfers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    from_site_id   INTEGER NOT NULL REFERENCES organizations (id),
    to_site_id     INTEGER NOT NULL REFERENCES organizations (id),
    status         TEXT NOT NULL CHECK (status IN ('draft', 'shipped', 'received', 'cancelled')),
    note           TEXT NOT NULL DEFAULT '',
    created_by     INTEGER REFERENCES users (id),
    created_at     DATETIME NOT NULL,
    shipped_by     INTEGER REFERENCES users (id),
    shipped_at     DATETIME,
    received_by    INTEGER REFERENCES users (id),
    received_at    DATETIME,
    unexpected     TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX transfers_from_idx ON transfers (from_site_id, status);
CREATE INDEX transfers_to_idx ON transfers (to_site_id, status);

CREATE TABLE transfer_devices (
    transfer_id   INTEGER NOT NULL REFERENCES transfers (id),
    device_id     INTEGER NOT NULL REFERENCES devices (id),
    state_before  TEXT NOT NULL,
    received_at   DATETIME,
    PRIMARY KEY (transfer_id, device_id)
);
CREATE INDEX transfer_devices_device_idx ON transfer_devices (device_id);

-- +goose StatementBegin
CREATE TRIGGER device_events_no_update BEFORE UPDATE ON device_events
BEGIN
    SELECT RAISE(ABORT, 'device_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER device_events_no_delete BEFORE DELETE ON device_events
BEGIN
    SELECT RAISE(ABORT, 'device_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE transfer_devices;
DROP TABLE transfers;
DROP TABLE stock_checks;
DROP TABLE price_grid;
DROP TABLE device_events;
DROP TABLE devices;
DROP TABLE donations;
DROP TABLE tag_counters;
DROP TABLE tag_prefixes;
