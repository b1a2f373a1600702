-- A million-card import checked three foreign keys per card (its batch,
-- its site, its product and operator): three lookups of the same three
-- rows a million times, most of the import's time. An import checks them
-- once for the whole file instead (the product and site before it starts,
-- the batch it writes itself), and `tremplin check` verifies every card's
-- references (rule card-reference). Nothing deletes batches, products or
-- organisations. SQLite keeps its keys: its imports are small.
--
-- Each card also went into two indexes of the cards for sale: the
-- allocation's (product, site, status, expiry) and the available cards'
-- (site, product, expiry, partial). The partial one serves the allocation,
-- the transfers, the sweep and the gauges alike; the other goes.

-- +goose Up
ALTER TABLE recharge_units DROP CONSTRAINT recharge_units_batch_id_fkey;
ALTER TABLE recharge_units DROP CONSTRAINT recharge_units_site_id_fkey;
ALTER TABLE recharge_units DROP CONSTRAINT recharge_units_product_id_operator_id_fkey;
DROP INDEX recharge_units_alloc_idx;

-- +goose Down
CREATE INDEX recharge_units_alloc_idx ON recharge_units (product_id, site_id, status, expires_on, id);
ALTER TABLE recharge_units ADD CONSTRAINT recharge_units_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES recharge_batches (id);
ALTER TABLE recharge_units ADD CONSTRAINT recharge_units_site_id_fkey FOREIGN KEY (site_id) REFERENCES organizations (id);
ALTER TABLE recharge_units ADD CONSTRAINT recharge_units_product_id_operator_id_fkey FOREIGN KEY (product_id, operator_id) REFERENCES recharge_products (id, operator_id);
