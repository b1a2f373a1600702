package inventory

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/partners"
)

// maxPriceCents bounds a solidarity price (10,000 €): anything above is a typo.
const maxPriceCents = 1_000_000

// PriceGrid is a solidarity price in cents per category and grade.
type PriceGrid map[Category]map[string]int64

type gridRow struct {
	Category   Category
	Grade      string
	PriceCents int64
}

func (gridRow) TableName() string { return "price_grid" }

func gridPrice(tx *gorm.DB, c Category, grade string) (int64, bool, error) {
	var row gridRow
	err := tx.Where("category = ? AND grade = ?", c, grade).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("price grid: %w", err)
	}
	return row.PriceCents, true, nil
}

// PriceGrid returns the whole grid.
func (s *Service) PriceGrid(ctx context.Context, c partners.Caller) (PriceGrid, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	var rows []gridRow
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("price grid: %w", err)
	}
	out := PriceGrid{}
	for _, r := range rows {
		if out[r.Category] == nil {
			out[r.Category] = map[string]int64{}
		}
		out[r.Category][r.Grade] = r.PriceCents
	}
	return out, nil
}

// SetPriceGrid replaces the grid (admins only). Devices already priced keep
// their price.
func (s *Service) SetPriceGrid(ctx context.Context, c partners.Caller, in map[string]map[string]int64) (PriceGrid, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return nil, err
	}
	v := &apperr.ValidationError{}
	var rows []gridRow
	for cat, grades := range in {
		if !Category(cat).Valid() {
			v.Field(cat, "is not a category (smartphone, feature_phone, laptop, tablet, desktop, other)")
			continue
		}
		for g, p := range grades {
			switch {
			case !ValidGrade(g):
				v.Field(cat+"."+g, "grade must be A, B, C or D")
			case p < 0 || p > maxPriceCents:
				v.Field(cat+"."+g, "price must be between 0 and %d cents", maxPriceCents)
			default:
				rows = append(rows, gridRow{Category: Category(cat), Grade: g, PriceCents: p})
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM price_grid").Error; err != nil {
			return fmt.Errorf("clear price grid: %w", err)
		}
		if len(rows) > 0 {
			if err := tx.Create(&rows).Error; err != nil {
				return fmt.Errorf("write price grid: %w", err)
			}
		}
		grid := map[string]any{}
		for k, val := range in {
			grid[k] = val
		}
		return audit.Record(ctx, tx, "price_grid.update", "price_grid", 0, grid)
	})
	if err != nil {
		return nil, err
	}
	return s.PriceGrid(ctx, c)
}
