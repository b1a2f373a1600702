-- Each space prints its receipts on its own printer: an 80 mm roll or A4.

-- +goose Up
ALTER TABLE organizations ADD COLUMN receipt_format TEXT NOT NULL DEFAULT '80mm' CHECK (receipt_format IN ('80mm', 'a4'));

-- +goose Down
ALTER TABLE organizations DROP COLUMN receipt_format;
