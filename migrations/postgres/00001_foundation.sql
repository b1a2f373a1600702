-- Foundation: organisations, users, tokens and sessions, login attempts, audit log.

-- +goose Up
CREATE TABLE organizations (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('warehouse', 'space', 'prescriber', 'donor', 'operator')),
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'Europe/Paris',
    address     TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX organizations_kind_idx ON organizations (kind);

CREATE TABLE users (
    id               BIGSERIAL PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'warehouse', 'space', 'prescriber')),
    organization_id  BIGINT REFERENCES organizations (id),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    last_login_at    TIMESTAMPTZ,
    CHECK ((role = 'admin') = (organization_id IS NULL))
);
CREATE INDEX users_organization_idx ON users (organization_id);

-- API bearer tokens and web UI sessions: only a SHA-256 of the secret is kept.
CREATE TABLE auth_tokens (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('bearer', 'session')),
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id);

CREATE TABLE login_attempts (
    id       BIGSERIAL PRIMARY KEY,
    email    TEXT NOT NULL,
    ip       TEXT NOT NULL,
    success  BOOLEAN NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at);

-- Who did what to which record, when, from which site. Append-only.
CREATE TABLE audit_log (
    id               BIGSERIAL PRIMARY KEY,
    at               TIMESTAMPTZ NOT NULL,
    user_id          BIGINT,
    organization_id  BIGINT,
    site_id          BIGINT,
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
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE login_attempts;
DROP TABLE auth_tokens;
DROP TABLE users;
DROP TABLE organizations;
