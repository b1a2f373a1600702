-- A card is imported neither travelling nor sold, yet each of its two
-- foreign keys for that (its transfer, the site that sold it) queued an
-- after-trigger event per card that fetched the row back only to find the
-- key empty: 0.9 s of a million-card import. Transfers and sales set them
-- inside their own transactions; `tremplin check` verifies that every
-- card's transfer and selling site exist (rule card-reference).

-- +goose Up
ALTER TABLE recharge_units DROP CONSTRAINT recharge_units_transfer_id_fkey;
ALTER TABLE recharge_units DROP CONSTRAINT recharge_units_sold_site_id_fkey;

-- +goose Down
ALTER TABLE recharge_units ADD CONSTRAINT recharge_units_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES transfers (id);
ALTER TABLE recharge_units ADD CONSTRAINT recharge_units_sold_site_id_fkey FOREIGN KEY (sold_site_id) REFERENCES organizations (id);
