-- Foundation: organisations, users, tokens and sessions, login attempts, audit log.

-- +goose Up
CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('warehouse', 'space', 'prescriber', 'donor', 'operator')),
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'Europe/Paris',
    address     TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX organizations_kind_idx ON organizations (kind);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    email            TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'warehouse', 'space', 'prescriber')),
    organization_id  INTEGER REFERENCES organizations (id),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    last_login_at    DATETIME,
    CHECK ((role = 'admin') = (organization_id IS NULL))
);
CREATE INDEX users_organization_idx ON users (organization_id);

-- API bearer tokens and web UI sessions: only a SHA-256 of the secret is kept.
CREATE TABLE auth_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('bearer', 'session')),
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL,
    revoked_at  DATETIME,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id);

CREATE TABLE login_attempts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    email    TEXT NOT NULL,
    ip       TEXT NOT NULL,
    success  BOOLEAN NOT NULL,
    at       DATETIME NOT NULL
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at);

-- Who did what to which record, when, from which site. Append-only.
CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               DATETIME NOT NULL,
    user_id          INTEGER,
    organization_id  INTEGER,
    site_id          INTEGER,
    action           TEXT NOT NULL,
    entity           TEXT NOT NULL DEFAULT '',
    entity_id        TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT '',
    request_id       TEXT NOT NULL DEFAULT '',
    data             TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE login_attempts;
DROP TABLE auth_tokens;
DROP TABLE users;
DROP TABLE organizations;
