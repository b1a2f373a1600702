-- Each site prints its labels on what it has: a roll printer or a sheet
-- of a given layout. Empty: the sheet most associations buy (a4-3x8) on
-- the labels page, one label a page for a single device.

-- +goose Up
ALTER TABLE organizations ADD COLUMN label_layout TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE organizations DROP COLUMN label_layout;
