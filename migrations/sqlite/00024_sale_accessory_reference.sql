-- The reference price (new, in a shop) of each accessory sold, as it was at
-- the sale: the savings the sale counted are recounted from it, and a
-- refund takes back what the sale counted, whatever the catalogue says
-- since.

-- +goose Up
ALTER TABLE sale_accessories ADD COLUMN reference_price_cents INTEGER;
UPDATE sale_accessories SET reference_price_cents = (SELECT a.reference_price_cents FROM accessories a WHERE a.id = sale_accessories.accessory_id);

-- +goose Down
ALTER TABLE sale_accessories DROP COLUMN reference_price_cents;
