-- Each chain's head keeps the hash before its last entry too: on
-- PostgreSQL a sale takes the head and computes its entry's hash in the
-- one statement of its last writes (the update's SET reads the head it
-- locked; its RETURNING gives both hashes to the entry's insert), instead
-- of reading the head in a round trip of its own while the site's next
-- sale waits.

-- +goose Up
ALTER TABLE journal_heads ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE journal_heads DROP COLUMN prev_hash;
