-- PostgreSQL drops the foreign keys of a card's transfer and selling site
-- for its bulk imports (see its migration); SQLite keeps them, its imports
-- being small. The version is kept in step with PostgreSQL's.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
