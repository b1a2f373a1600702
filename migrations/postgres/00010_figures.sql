-- Figures kept as they happen: each transaction that records an event, a
-- sale, a refund or a voucher adds its counts here, so that a report reads
-- days rather than events. day is the local day of the organisation
-- (a site, or the prescriber for vouchers) in its time zone, as text
-- YYYY-MM-DD; day '' holds counts as they stand now (devices per site,
-- state and category). For the distinct counts (people, vouchers used),
-- label is the day the same person or voucher was last served before,
-- '' for a first time: people served over [from, to] are the rows of
-- those days whose label is before from.
--
-- A database that had events before this table is backfilled: the row
-- below asks the next start to rebuild the figures from the history (time
-- zones make that a Go job, not SQL), in one transaction that removes it.

-- +goose Up
CREATE TABLE figures (
    day    TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    n      BIGINT NOT NULL DEFAULT 0,
    cents  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, org_id, metric, label)
);
-- Reports read one metric over a range of days: an index that answers
-- from itself, without the table.
CREATE INDEX figures_read_idx ON figures (metric, day, label) INCLUDE (org_id, n, cents);
-- The cards on the shelves, without the sold ones of every past year: the
-- stock gauges count these at each scrape.
CREATE INDEX recharge_units_available_idx ON recharge_units (site_id, product_id, expires_on) WHERE status = 'available';
INSERT INTO figures (day, org_id, metric, label, n, cents) VALUES ('', 0, 'rebuild', 'pending', 1, 0);

-- +goose Down
DROP INDEX recharge_units_available_idx;
DROP TABLE figures;
