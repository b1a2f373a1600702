package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

// SellDevice moves a device from in_stock at a site to sold, inside the
// sale's transaction, with a conditional update: of two sales racing for the
// same device, exactly one wins; the other gets device-unavailable. A device
// whose category is not among allowed is category-not-allowed.
func (s *Service) SellDevice(ctx context.Context, tx *gorm.DB, fig *figures.Tally, c partners.Caller, deviceID, siteID, saleID, voucherID int64, allowed []string) (Device, error) {
	db := tx.WithContext(ctx)
	now := s.now()
	// Taken by one conditional update that checks the category too, and
	// returns the device with when it last got ready (the sale counts the
	// wait); its event follows (in the same statement where the engine
	// can).
	// A device set aside for another voucher is not taken; one set aside
	// for this voucher is, and is no longer set aside.
	const take = `UPDATE devices SET state = ?, updated_at = ?, reserved_voucher_id = NULL, reserved_until = NULL
		WHERE id = ? AND state = ? AND site_id = ? AND category IN ? AND (reserved_voucher_id IS NULL OR reserved_voucher_id = ? OR reserved_until <= ?)
		RETURNING *, (SELECT MAX(e.at) FROM device_events e WHERE e.device_id = devices.id AND e.action = 'mark_ready') AS ready_at`
	var d Device
	n, err := s.db.UpdateFollowed(db, database.Followed{Table: "devices", ID: deviceID,
		Update: take, UpdateArgs: []any{Sold, now, deviceID, InStock, siteID, allowed, voucherID, now},
		Follow: `INSERT INTO device_events (device_id, action, from_state, to_state, user_id, site_id, at, data)
			SELECT d.id, 'sell', ?, ?, ?, d.site_id, ?, ? FROM d`,
		FollowArgs:   []any{InStock, Sold, c.UserRef(), now, string(mustJSON(map[string]any{"sale_id": saleID}))},
		ReturnedRows: &d})
	if err != nil {
		return d, fmt.Errorf("sell device %d: %w", deviceID, err)
	}
	if n != 1 {
		return d, s.whyNotForSale(db, deviceID, allowed, now)
	}
	s.eventFigures(fig, d, siteID, "sell", InStock, Sold, now)
	return d, nil
}

// PeekDevice is SellDevice without taking the device, for a basket checked
// before payment: the device when the sale could take it (in stock at the
// site, a category allowed, not set aside for another voucher), else
// SellDevice's refusal. One read, no lock.
func (s *Service) PeekDevice(ctx context.Context, db *gorm.DB, deviceID, siteID, voucherID int64, allowed []string) (Device, error) {
	db = db.WithContext(ctx)
	now := s.now()
	var d Device
	q := db.Where("id = ? AND state = ? AND site_id = ? AND category IN ? AND (reserved_voucher_id IS NULL OR reserved_voucher_id = ? OR reserved_until <= ?)",
		deviceID, InStock, siteID, allowed, voucherID, now).Limit(1).Find(&d)
	if q.Error != nil {
		return d, fmt.Errorf("device %d: %w", deviceID, q.Error)
	}
	if q.RowsAffected != 1 {
		return d, s.whyNotForSale(db, deviceID, allowed, now)
	}
	return d, nil
}

// whyNotForSale says why a device could not be sold: unknown, a category
// the voucher does not allow, or not in stock at the site.
func (s *Service) whyNotForSale(db *gorm.DB, deviceID int64, allowed []string, now time.Time) error {
	var d Device
	if err := db.Select("id, tag, category, state, site_id, reserved_voucher_id, reserved_until").Where("id = ?", deviceID).Take(&d).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return apperr.Conflict("device-unavailable", "no device %d", deviceID)
		}
		return fmt.Errorf("device %d: %w", deviceID, err)
	}
	if !slices.Contains(allowed, string(d.Category)) {
		return apperr.Conflict("category-not-allowed", "device %s is a %s; the voucher allows %s", d.Tag, d.Category, strings.Join(allowed, ", "))
	}
	if d.State == InStock && d.ReservedAt(now) {
		return apperr.Conflict("device-reserved", "device %s is set aside for another person until %s", d.Tag, d.ReservedUntil.Format(time.DateOnly))
	}
	return apperr.Conflict("device-unavailable", "device %s is %s, not in stock at this site", d.Tag, d.State)
}

// ReturnDevice takes a sold device back at a site after a refund: it goes
// returned, to be diagnosed again at the warehouse.
func (s *Service) ReturnDevice(ctx context.Context, tx *gorm.DB, fig *figures.Tally, c partners.Caller, deviceID, siteID, saleID int64, reason string) (Device, error) {
	var d Device
	if err := tx.WithContext(ctx).Where("id = ?", deviceID).Take(&d).Error; err != nil {
		return d, fmt.Errorf("device %d: %w", deviceID, err)
	}
	res := tx.WithContext(ctx).Model(&Device{}).Where("id = ? AND state = ?", d.ID, Sold).
		Updates(map[string]any{"state": Returned, "site_id": siteID, "updated_at": s.now()})
	if res.Error != nil {
		return d, fmt.Errorf("return device %s: %w", d.Tag, res.Error)
	}
	if res.RowsAffected != 1 {
		return d, apperr.Conflict("device-unavailable", "device %s is %s, not sold", d.Tag, d.State)
	}
	soldAt := d.SiteID
	d.SiteID = siteID
	return d, s.event(tx.WithContext(ctx), fig, c, d, soldAt, "refund", Sold, Returned, map[string]any{"sale_id": saleID, "reason": reason})
}
