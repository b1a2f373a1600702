-- Operations: the backups taken (so the admin's page can say when the last
-- one was), and the sales journal: every sale, refund and closing appended
-- to a hash chain per site, each entry the SHA-256 of the one before and of
-- its own content, so that a row changed or removed behind Tremplin's back
-- shows. journal_heads holds each chain's last entry: appending takes its
-- row, so one site's entries queue and other sites' do not.

-- +goose Up
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    taken_at    DATETIME NOT NULL
);
CREATE INDEX backups_taken_idx ON backups (taken_at);

CREATE TABLE journal_heads (
    site_id  INTEGER PRIMARY KEY REFERENCES organizations (id),
    seq      INTEGER NOT NULL,
    hash     TEXT NOT NULL
);
CREATE TABLE journal_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id     INTEGER NOT NULL REFERENCES organizations (id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'closing')),
    ref         TEXT NOT NULL,
    content     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    UNIQUE (site_id, seq)
);
CREATE INDEX journal_entries_ref_idx ON journal_entries (kind, ref);
ALTER TABLE closings ADD COLUMN journal_hash TEXT;
INSERT INTO journal_heads (site_id, seq, hash)
    SELECT id, 0, '0000000000000000000000000000000000000000000000000000000000000000' FROM organizations WHERE kind = 'space';

-- +goose Down
ALTER TABLE closings DROP COLUMN journal_hash;
DROP TABLE journal_entries;
DROP TABLE journal_heads;
DROP TABLE backups;
