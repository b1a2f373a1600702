package recharges

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// What a transfer between sites (inventory) does with cards, inside the
// transfer's own transaction.

// FindProduct loads a product: ErrNotFound when there is none.
func (s *Service) FindProduct(ctx context.Context, id int64) (Product, error) {
	return s.Product(s.db.WithContext(ctx), id)
}

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
	q := s.db.SkipLocked(tx.Table("recharge_units").Select("id").
		Where("product_id = ? AND site_id = ? AND status = '"+UnitAvailable+"' AND expires_on >= ?", productID, fromSiteID, today).
		Order("expires_on, id").Limit(qty))
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
	var fig figures.Tally
	fig.MoveCards(fromSiteID, UnitAvailable, fromSiteID, UnitInTransit, productID, int64(len(ids)))
	return fig.Flush(tx)
}

// Receive makes a transfer's cards available at its destination. counted
// is what the site counted on arrival, by product; nil means every card
// arrived (the sealed packs were not opened). A product counted short keeps
// its last cards by serial in transit on the transfer, reported missing:
// packs are in serial order, so what is missing is the end of a range, and
// a later count (a second box) receives them.
func (s *Service) Receive(tx *gorm.DB, transferID, toSiteID int64, counted map[int64]int) error {
	// Where the cards on the way count until they arrive: the site that
	// shipped them.
	var travelling []struct {
		SiteID    int64
		ProductID int64
		N         int64
	}
	if err := tx.Raw(`SELECT site_id, product_id, COUNT(*) AS n FROM recharge_units WHERE transfer_id = ? AND status = ? GROUP BY site_id, product_id`,
		transferID, UnitInTransit).Scan(&travelling).Error; err != nil {
		return fmt.Errorf("cards on transfer %d: %w", transferID, err)
	}
	var fig figures.Tally
	arrived := func(product, n int64) {
		for _, t := range travelling {
			if t.ProductID == product && n > 0 {
				k := min(n, t.N)
				fig.MoveCards(t.SiteID, UnitInTransit, toSiteID, UnitAvailable, product, k)
				n -= k
			}
		}
	}
	if counted == nil {
		if err := tx.Table("recharge_units").Where("transfer_id = ? AND status = ?", transferID, UnitInTransit).
			Updates(map[string]any{"status": UnitAvailable, "site_id": toSiteID}).Error; err != nil {
			return fmt.Errorf("receive recharges of transfer %d: %w", transferID, err)
		}
		for _, t := range travelling {
			fig.MoveCards(t.SiteID, UnitInTransit, toSiteID, UnitAvailable, t.ProductID, t.N)
		}
		return fig.Flush(tx)
	}
	waiting, err := s.InTransit(tx, transferID)
	if err != nil {
		return err
	}
	left := map[int64]int{}
	for _, l := range waiting {
		left[l.ProductID] = l.Quantity
	}
	pids := slices.Sorted(maps.Keys(counted))
	v := &apperr.ValidationError{}
	for _, pid := range pids {
		n := counted[pid]
		switch {
		case n < 0:
			v.Field("recharges", "a count cannot be negative (product %d: %d)", pid, n)
		case n > left[pid]:
			v.Field("recharges", "%d card(s) of product %d counted, %d on the way", n, pid, left[pid])
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, pid := range pids {
		n := counted[pid]
		if n == 0 {
			continue
		}
		var ids []int64
		if err := tx.Table("recharge_units").Where("transfer_id = ? AND product_id = ? AND status = ?", transferID, pid, UnitInTransit).
			Order("serial, id").Limit(n).Pluck("id", &ids).Error; err != nil {
			return fmt.Errorf("cards of product %d on transfer %d: %w", pid, transferID, err)
		}
		res := tx.Table("recharge_units").Where("id IN ? AND status = ?", ids, UnitInTransit).
			Updates(map[string]any{"status": UnitAvailable, "site_id": toSiteID})
		if res.Error != nil {
			return fmt.Errorf("receive recharges of transfer %d: %w", transferID, res.Error)
		}
		if int(res.RowsAffected) != n {
			return apperr.Conflict("invalid-transition", "cards of product %d on transfer %d were received meanwhile; count again", pid, transferID)
		}
		arrived(pid, int64(n))
	}
	return fig.Flush(tx)
}

// InTransitLine is how many cards of a product a transfer still carries:
// not yet counted on arrival, with the range of their serials.
type InTransitLine struct {
	ProductID   int64  `json:"product_id"`
	ProductName string `json:"-"`
	Quantity    int    `json:"quantity"`
	FirstSerial string `json:"-"`
	LastSerial  string `json:"-"`
}

// InTransit lists the cards a transfer still carries, by product.
func (s *Service) InTransit(db *gorm.DB, transferID int64) ([]InTransitLine, error) {
	var out []InTransitLine
	if err := db.Table("recharge_units u").Select("u.product_id, p.name AS product_name, COUNT(*) AS quantity, "+
		"MIN(u.serial) AS first_serial, MAX(u.serial) AS last_serial").
		Joins("JOIN recharge_products p ON p.id = u.product_id").
		Where("u.transfer_id = ? AND u.status = ?", transferID, UnitInTransit).
		Group("u.product_id, p.name").Order("u.product_id").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("cards in transit on transfer %d: %w", transferID, err)
	}
	return out, nil
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

// CardOnTransfer says whether a scanned code is the serial of a card a
// transfer carries, and of which product: a reception recognises a card
// scanned where devices are expected.
func (s *Service) CardOnTransfer(ctx context.Context, transferID int64, serial string) (string, bool, error) {
	var name []string
	if err := s.db.WithContext(ctx).Table("recharge_units u").Select("p.name").Joins("JOIN recharge_products p ON p.id = u.product_id").
		Where("u.transfer_id = ? AND u.serial = ?", transferID, strings.TrimSpace(serial)).Limit(1).Pluck("p.name", &name).Error; err != nil {
		return "", false, fmt.Errorf("card %q on transfer %d: %w", serial, transferID, err)
	}
	if len(name) == 0 {
		return "", false, nil
	}
	return name[0], true, nil
}
