package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/reports/figures"
)

// SellDevice moves a device from in_stock at a site to sold, inside the
// sale's transaction, with a conditional update: of two sales racing for the
// same device, exactly one wins; the other gets device-unavailable. A device
// whose category is not among allowed is category-not-allowed.
func (s *Service) SellDevice(ctx context.Context, tx *gorm.DB, fig *figures.Tally, c partners.Caller, deviceID, siteID, saleID int64, allowed []string) (Device, error) {
	var d Device
	// When it last got ready comes with it: the sale counts the wait.
	if err := tx.WithContext(ctx).Select(`devices.*, (SELECT MAX(e.at) FROM device_events e WHERE e.device_id = devices.id AND e.action = 'mark_ready') AS ready_at`).
		Where("id = ?", deviceID).Take(&d).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return d, apperr.Conflict("device-unavailable", "no device %d", deviceID)
		}
		return d, fmt.Errorf("device %d: %w", deviceID, err)
	}
	if !slices.Contains(allowed, string(d.Category)) {
		return d, apperr.Conflict("category-not-allowed", "device %s is a %s; the voucher allows %s", d.Tag, d.Category, strings.Join(allowed, ", "))
	}
	if d.State != InStock || d.SiteID != siteID {
		return d, apperr.Conflict("device-unavailable", "device %s is %s, not in stock at this site", d.Tag, d.State)
	}
	res := tx.WithContext(ctx).Model(&Device{}).Where("id = ? AND state = ? AND site_id = ?", d.ID, InStock, siteID).
		Updates(map[string]any{"state": Sold, "updated_at": s.now()})
	if res.Error != nil {
		return d, fmt.Errorf("sell device %s: %w", d.Tag, res.Error)
	}
	if res.RowsAffected != 1 {
		return d, apperr.Conflict("device-unavailable", "device %s was sold meanwhile", d.Tag)
	}
	if err := s.event(tx.WithContext(ctx), fig, c, d, d.SiteID, "sell", InStock, Sold, map[string]any{"sale_id": saleID}); err != nil {
		return d, err
	}
	d.State = Sold
	return d, nil
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
