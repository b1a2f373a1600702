-- Lock checks at diagnosis: a phone still tied to its owner's account, a
-- company's device management, a firmware password or the stolen-IMEI list
-- must never reach a counter. The last checks are kept on the device (JSON:
-- account, mdm, firmware, blocklist, each clear, locked or not_applicable);
-- each diagnosis records its own in its event.

-- +goose Up
ALTER TABLE devices ADD COLUMN locks TEXT;

-- +goose Down
ALTER TABLE devices DROP COLUMN locks;
