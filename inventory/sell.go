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
)

// SellDevice moves a device from in_stock at a site to sold, inside the
// sale's transaction, with a conditional update: of two sales racing for the
// same device, exactly one wins; the other gets device-unavailable. A device
// whose category is not among allowed is category-not-allowed.
func (s *Service) SellDevice(ctx context.Context, tx *gorm.DB, c partners.Caller, deviceID, siteID, saleID int64, allowed []string) (Device, error) {
	var d Device
	if err := tx.WithContext(ctx).Where("id = ?", deviceID).Take(&d).Error; err != nil {
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
	if err := s.event(tx.WithContext(ctx), c, d, "sell", InStock, Sold, map[string]any{"sale_id": saleID}); err != nil {
		return d, err
	}
	d.State = Sold
	return d, nil
}

// ReturnDevice takes a sold device back at a site after a refund: it goes
// returned, to be diagnosed again at the warehouse.
func (s *Service) ReturnDevice(ctx context.Context, tx *gorm.DB, c partners.Caller, deviceID, siteID, saleID int64, reason string) error {
	var d Device
	if err := tx.WithContext(ctx).Where("id = ?", deviceID).Take(&d).Error; err != nil {
		return fmt.Errorf("device %d: %w", deviceID, err)
	}
	res := tx.WithContext(ctx).Model(&Device{}).Where("id = ? AND state = ?", d.ID, Sold).
		Updates(map[string]any{"state": Returned, "site_id": siteID, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("return device %s: %w", d.Tag, res.Error)
	}
	if res.RowsAffected != 1 {
		return apperr.Conflict("device-unavailable", "device %s is %s, not sold", d.Tag, d.State)
	}
	d.SiteID = siteID
	return s.event(tx.WithContext(ctx), c, d, "refund", Sold, Returned, map[string]any{"sale_id": saleID, "reason": reason})
}
