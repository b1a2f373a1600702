-- The web UI: each person's language, and the keys of the forms already acted on.

-- +goose Up
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '' CHECK (language IN ('', 'fr', 'en'));

-- A form drawn with a key acts once: a double submit or a retry finds the
-- key and is sent where the first one went.
CREATE TABLE form_keys (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    form_key    TEXT NOT NULL,
    result      TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (user_id, form_key)
);
CREATE INDEX form_keys_created_idx ON form_keys (created_at);

-- +goose Down
DROP TABLE form_keys;
ALTER TABLE users DROP COLUMN language;
