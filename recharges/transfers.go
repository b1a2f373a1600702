package recharges

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

// What a transfer between sites (inventory) does with cards, inside the
// transfer's own transaction.

// Product loads a product through db (a transaction, maybe): ErrNotFound
// when there is none.
func (s *Service) Product(db *gorm.DB, id int64) (Product, error) {
	var p Product
	if err := db.Where("id = ?", id).Take(&p).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return p, fmt.Errorf("recharge product %d: %w", id, apperr.ErrNotFound)
		}
		return p, fmt.Errorf("recharge product %d: %w", id, err)
	}
	return p, nil
}

// Sellable counts a product's cards available at a site and not past their
// date on the site's local day today.
func (s *Service) Sellable(tx *gorm.DB, productID, siteID int64, today string) (int64, error) {
	var n int64
	if err := tx.Table("recharge_units").Where("product_id = ? AND site_id = ? AND status = '"+UnitAvailable+"' AND expires_on >= ?",
		productID, siteID, today).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("recharge stock: %w", err)
	}
	return n, nil
}

// Ship moves qty first-expiring available cards of a product from a site to
// in_transit on a transfer, or fails when the site has fewer.
func (s *Service) Ship(tx *gorm.DB, transferID, productID, fromSiteID int64, qty int) error {
	from, err := partners.SiteIn(tx, fromSiteID)
	if err != nil {
		return err
	}
	today := s.now().In(from.Location()).Format(time.DateOnly)
	q := tx.Table("recharge_units").Select("id").
		Where("product_id = ? AND site_id = ? AND status = '"+UnitAvailable+"' AND expires_on >= ?", productID, fromSiteID, today).
		Order("expires_on, id").Limit(qty)
	if s.db.Engine == database.Postgres {
		q = q.Clauses(forUpdateSkipLocked)
	}
	var ids []int64
	if err := q.Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("pick recharge units: %w", err)
	}
	if len(ids) < qty {
		return apperr.Conflict("stock-short", "only %d unit(s) of recharge product %d left at %s, %d to ship", len(ids), productID, from.Name, qty)
	}
	res := tx.Table("recharge_units").Where("id IN ? AND status = ?", ids, UnitAvailable).
		Updates(map[string]any{"status": UnitInTransit, "transfer_id": transferID})
	if res.Error != nil {
		return fmt.Errorf("ship recharge units: %w", res.Error)
	}
	if int(res.RowsAffected) != len(ids) {
		return apperr.Conflict("stock-short", "recharge units of product %d were sold meanwhile; ship again", productID)
	}
	return nil
}

// Receive makes a transfer's cards available at its destination: they
// travel in sealed packs and arrive all together.
func (s *Service) Receive(tx *gorm.DB, transferID, toSiteID int64) error {
	if err := tx.Table("recharge_units").Where("transfer_id = ? AND status = ?", transferID, UnitInTransit).
		Updates(map[string]any{"status": UnitAvailable, "site_id": toSiteID}).Error; err != nil {
		return fmt.Errorf("receive recharges of transfer %d: %w", transferID, err)
	}
	return nil
}

// ShippedLine is what a transfer carries of one product, for its delivery
// note: how many cards and the range of their serials.
type ShippedLine struct {
	ProductID   int64
	ProductName string
	Quantity    int
	FirstSerial string
	LastSerial  string
}

// Shipped lists the cards a transfer carries (or carried), by product.
func (s *Service) Shipped(db *gorm.DB, transferID int64) ([]ShippedLine, error) {
	var out []ShippedLine
	if err := db.Table("recharge_units u").Select("u.product_id, p.name AS product_name, COUNT(*) AS quantity, "+
		"MIN(u.serial) AS first_serial, MAX(u.serial) AS last_serial").
		Joins("JOIN recharge_products p ON p.id = u.product_id").Where("u.transfer_id = ?", transferID).
		Group("u.product_id, p.name").Order("u.product_id").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("cards of transfer %d: %w", transferID, err)
	}
	return out, nil
}
