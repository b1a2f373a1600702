package inventory

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
)

// ReservedAt tells whether the device is set aside for a voucher at now.
func (d Device) ReservedAt(now time.Time) bool {
	return d.ReservedVoucherID != nil && d.ReservedUntil != nil && d.ReservedUntil.After(now)
}

// notReserved is the condition a device that may be taken meets at now:
// set aside for nobody, or for a time now past.
const notReserved = `(devices.reserved_voucher_id IS NULL OR devices.reserved_until <= ?)`

// Reserve sets a device of a category in stock at a site aside for a
// voucher until a time, in the caller's transaction: the first free one by
// tag, taken by one conditional update of its row, so that two
// reservations, a sale or a transfer meeting on it never both have it.
// 409 none-available when the site has none free.
func (s *Service) Reserve(tx *gorm.DB, siteID int64, category string, voucherID int64, until, now time.Time) (Device, error) {
	var d Device
	for range 5 {
		var candidates []int64
		if err := tx.Model(&Device{}).Where("site_id = ? AND state = ? AND category = ? AND "+notReserved, siteID, InStock, category, now).
			Order("tag").Limit(3).Pluck("id", &candidates).Error; err != nil {
			return d, fmt.Errorf("devices to reserve: %w", err)
		}
		if len(candidates) == 0 {
			break
		}
		for _, id := range candidates {
			res := tx.Model(&Device{}).Where("id = ? AND state = ? AND "+notReserved, id, InStock, now).
				Updates(map[string]any{"reserved_voucher_id": voucherID, "reserved_until": until})
			if res.Error != nil {
				return d, fmt.Errorf("reserve device %d: %w", id, res.Error)
			}
			if res.RowsAffected == 1 {
				if err := tx.Select(refColumns).Where("id = ?", id).Take(&d).Error; err != nil {
					return d, fmt.Errorf("device %d: %w", id, err)
				}
				return d, nil
			}
			// Taken meanwhile by another reservation or a sale: the next.
		}
	}
	return d, apperr.Conflict("none-available", "no %s free at this space now", category)
}

// Unreserve frees a device set aside for a voucher (a cancel, an expiry);
// a device no longer reserved for it is left as it is.
func (s *Service) Unreserve(tx *gorm.DB, deviceID, voucherID int64) error {
	if err := tx.Model(&Device{}).Where("id = ? AND reserved_voucher_id = ?", deviceID, voucherID).
		Updates(map[string]any{"reserved_voucher_id": nil, "reserved_until": nil}).Error; err != nil {
		return fmt.Errorf("free device %d: %w", deviceID, err)
	}
	return nil
}

// FreeExpired clears the devices whose reservation time is over; they
// were free already (notReserved), this only tidies the rows.
func (s *Service) FreeExpired(tx *gorm.DB, now time.Time) error {
	if err := tx.Model(&Device{}).Where("reserved_until <= ?", now).
		Updates(map[string]any{"reserved_voucher_id": nil, "reserved_until": nil}).Error; err != nil {
		return fmt.Errorf("free devices: %w", err)
	}
	return nil
}

// Available counts the devices in stock and not set aside at each space,
// by category: site id → category → count.
func (s *Service) Available(db *gorm.DB, now time.Time, category string) (map[int64]map[string]int64, error) {
	var rows []struct {
		SiteID   int64
		Category string
		N        int64
	}
	// The state written out, not bound: the partial index of the devices in
	// stock serves the count, and a generic plan could not prove it does.
	q := db.Model(&Device{}).Select("site_id, category, COUNT(*) AS n").Where("state = '"+string(InStock)+"' AND "+notReserved, now)
	if category != "" {
		q = q.Where("category = ?", category)
	}
	if err := q.Group("site_id, category").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("devices available: %w", err)
	}
	out := map[int64]map[string]int64{}
	for _, r := range rows {
		if out[r.SiteID] == nil {
			out[r.SiteID] = map[string]int64{}
		}
		out[r.SiteID][r.Category] = r.N
	}
	return out, nil
}
