-- A device set aside at a space for a voucher, for a few days. The device
-- row carries the reservation (its voucher, until when) so that a sale or
-- a transfer, which take the device by a conditional update of that row,
-- cannot miss one made meanwhile; reservations keep the history. At most
-- one active reservation per device. A reservation whose time is over
-- holds nothing, whether or not the job has marked it expired yet.

-- +goose Up
ALTER TABLE devices ADD COLUMN reserved_voucher_id INTEGER; -- a voucher's id (no REFERENCES: SQLite could not drop the column)
ALTER TABLE devices ADD COLUMN reserved_until DATETIME;
CREATE TABLE reservations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    voucher_id  INTEGER NOT NULL REFERENCES vouchers (id),
    site_id     INTEGER NOT NULL REFERENCES organizations (id),
    category    TEXT NOT NULL,
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    status      TEXT NOT NULL CHECK (status IN ('active', 'fulfilled', 'expired', 'cancelled')),
    expires_at  DATETIME NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    created_at  DATETIME NOT NULL,
    ended_at    DATETIME,
    sale_id     INTEGER REFERENCES sales (id)
);
CREATE UNIQUE INDEX reservations_device_active_idx ON reservations (device_id) WHERE status = 'active';
CREATE INDEX reservations_voucher_idx ON reservations (voucher_id, status);
CREATE INDEX reservations_site_idx ON reservations (site_id, status, expires_at);

-- +goose Down
DROP TABLE reservations;
ALTER TABLE devices DROP COLUMN reserved_until;
ALTER TABLE devices DROP COLUMN reserved_voucher_id;
