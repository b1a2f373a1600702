-- Distribution: beneficiaries (the least data a voucher needs) and their
-- eligibility vouchers.

-- +goose Up
CREATE TABLE beneficiaries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id   INTEGER NOT NULL REFERENCES organizations (id),
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    name_key          TEXT NOT NULL,
    birth_year        INTEGER,
    postal_code       TEXT,
    created_by        INTEGER REFERENCES users (id),
    created_at        DATETIME NOT NULL,
    last_activity_at  DATETIME NOT NULL,
    anonymised_at     DATETIME
);
CREATE INDEX beneficiaries_org_idx ON beneficiaries (organization_id, name_key);
CREATE INDEX beneficiaries_activity_idx ON beneficiaries (last_activity_at) WHERE anonymised_at IS NULL;

CREATE TABLE vouchers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    code               TEXT NOT NULL UNIQUE,
    beneficiary_id     INTEGER NOT NULL REFERENCES beneficiaries (id),
    organization_id    INTEGER NOT NULL REFERENCES organizations (id),
    device_categories  TEXT NOT NULL DEFAULT '[]',
    devices_allowed    INTEGER NOT NULL CHECK (devices_allowed >= 0),
    recharges_allowed  INTEGER NOT NULL CHECK (recharges_allowed >= 0),
    devices_used       INTEGER NOT NULL DEFAULT 0 CHECK (devices_used >= 0 AND devices_used <= devices_allowed),
    recharges_used     INTEGER NOT NULL DEFAULT 0 CHECK (recharges_used >= 0 AND recharges_used <= recharges_allowed),
    valid_until        TEXT NOT NULL,
    expires_at         DATETIME NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'used', 'revoked')),
    revoked_at         DATETIME,
    revoked_by         INTEGER REFERENCES users (id),
    revoke_reason      TEXT,
    renewed_from_id    INTEGER REFERENCES vouchers (id),
    created_by         INTEGER REFERENCES users (id),
    created_at         DATETIME NOT NULL,
    last_used_at       DATETIME
);
CREATE INDEX vouchers_org_idx ON vouchers (organization_id, status);
CREATE INDEX vouchers_beneficiary_idx ON vouchers (beneficiary_id);

-- Failed voucher lookups are counted per user from the audit log.
CREATE INDEX audit_log_user_action_idx ON audit_log (user_id, action, at);

-- +goose Down
DROP INDEX audit_log_user_action_idx;
DROP TABLE vouchers;
DROP TABLE beneficiaries;
