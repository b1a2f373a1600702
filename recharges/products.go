package recharges

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/partners"
)

// Unit statuses of a recharge card.
const (
	UnitAvailable = "available"
	UnitInTransit = "in_transit"
	UnitSold      = "sold"
	UnitExpired   = "expired"
	UnitVoid      = "void"
)

// Product is a prepaid recharge an operator sells to the network.
type Product struct {
	ID                int64     `json:"id"`
	OperatorID        int64     `json:"operator_id"`
	Name              string    `json:"name"`
	FaceValueCents    int64     `json:"face_value_cents"`
	PriceCents        int64     `json:"price_cents"`
	ValidityDays      *int      `json:"validity_days"`
	LowStockThreshold int       `json:"low_stock_threshold"`
	Active            bool      `json:"active"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// TableName keeps the table's name from before the package was split.
func (Product) TableName() string { return "recharge_products" }

// NewProduct is the input of CreateProduct.
type NewProduct struct {
	OperatorID        int64  `json:"operator_id"`
	Name              string `json:"name"`
	FaceValueCents    int64  `json:"face_value_cents"`
	PriceCents        *int64 `json:"price_cents"`
	ValidityDays      *int   `json:"validity_days"`
	LowStockThreshold *int   `json:"low_stock_threshold"`
}

const maxFaceValue = 100_000 // 1,000 €: no prepaid card is worth more

func checkProductFields(v *apperr.ValidationError, name *string, face, price *int64, validity, threshold *int) {
	if name != nil {
		*name = strings.TrimSpace(*name)
		if *name == "" || len([]rune(*name)) > 200 {
			v.Field("name", "is required, at most 200 characters")
		} else if !textcheck.CleanName(*name) {
			v.Field("name", textcheck.NameMessage)
		}
	}
	if face != nil && (*face <= 0 || *face > maxFaceValue) {
		v.Field("face_value_cents", "must be between 1 and %d", maxFaceValue)
	}
	if price != nil && (*price < 0 || *price > maxFaceValue) {
		v.Field("price_cents", "must be between 0 and %d", maxFaceValue)
	}
	if validity != nil && (*validity <= 0 || *validity > 3650) {
		v.Field("validity_days", "must be between 1 and 3650")
	}
	if threshold != nil && (*threshold < 0 || *threshold > 1_000_000) {
		v.Field("low_stock_threshold", "must be between 0 and 1000000")
	}
}

// CreateProduct adds a product (admins only).
func (s *Service) CreateProduct(ctx context.Context, c partners.Caller, in NewProduct) (Product, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return Product{}, err
	}
	v := &apperr.ValidationError{}
	if _, err := s.partners.OrganizationOfKind(ctx, v, "operator_id", in.OperatorID, partners.KindOperator); err != nil {
		return Product{}, err
	}
	if in.PriceCents == nil {
		v.Field("price_cents", "is required (the solidarity price, in cents)")
	}
	checkProductFields(v, &in.Name, &in.FaceValueCents, in.PriceCents, in.ValidityDays, in.LowStockThreshold)
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	now := s.now()
	p := Product{OperatorID: in.OperatorID, Name: in.Name, FaceValueCents: in.FaceValueCents, PriceCents: *in.PriceCents,
		ValidityDays: in.ValidityDays, Active: true, CreatedAt: now, UpdatedAt: now}
	if in.LowStockThreshold != nil {
		p.LowStockThreshold = *in.LowStockThreshold
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&p).Error; err != nil {
			return fmt.Errorf("create recharge product: %w", err)
		}
		return audit.Record(ctx, tx, "recharge_product.create", "recharge_product", p.ID, map[string]any{"name": p.Name, "face_value_cents": p.FaceValueCents})
	})
	return p, err
}

// ProductPatch is the input of UpdateProduct; absent fields stay.
type ProductPatch struct {
	Name              *string `json:"name"`
	PriceCents        *int64  `json:"price_cents"`
	ValidityDays      *int    `json:"validity_days"`
	LowStockThreshold *int    `json:"low_stock_threshold"`
	Active            *bool   `json:"active"`
}

// UpdateProduct changes a product (admins only). The face value and
// operator are fixed: units already imported carry them.
func (s *Service) UpdateProduct(ctx context.Context, c partners.Caller, id int64, in ProductPatch) (Product, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return Product{}, err
	}
	v := &apperr.ValidationError{}
	checkProductFields(v, in.Name, nil, in.PriceCents, in.ValidityDays, in.LowStockThreshold)
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	var p Product
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&p).Error; err != nil {
			return notFound(err, "recharge product %d", id)
		}
		changes := map[string]any{}
		if in.Name != nil {
			changes["name"] = *in.Name
		}
		if in.PriceCents != nil {
			changes["price_cents"] = *in.PriceCents
		}
		if in.ValidityDays != nil {
			changes["validity_days"] = *in.ValidityDays
		}
		if in.LowStockThreshold != nil {
			changes["low_stock_threshold"] = *in.LowStockThreshold
		}
		if in.Active != nil {
			changes["active"] = *in.Active
		}
		if len(changes) == 0 {
			return nil
		}
		logged := map[string]any{}
		for k, v := range changes {
			logged[k] = v
		}
		changes["updated_at"] = s.now()
		if err := tx.Model(&Product{}).Where("id = ?", id).Updates(changes).Error; err != nil {
			return fmt.Errorf("update recharge product %d: %w", id, err)
		}
		if err := tx.Where("id = ?", id).Take(&p).Error; err != nil {
			return err
		}
		return audit.Record(ctx, tx, "recharge_product.update", "recharge_product", id, logged)
	})
	return p, err
}

// GetProduct returns one product; every signed-in role may read the catalogue.
func (s *Service) GetProduct(ctx context.Context, c partners.Caller, id int64) (Product, error) {
	var p Product
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return p, notFound(err, "recharge product %d", id)
	}
	return p, nil
}

// ListProducts lists the catalogue, optionally for one operator.
func (s *Service) ListProducts(ctx context.Context, c partners.Caller, operatorID int64, p paging.Page) (paging.List[Product], error) {
	q := s.db.WithContext(ctx).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if operatorID != 0 {
		q = q.Where("operator_id = ?", operatorID)
	}
	var out []Product
	if err := q.Find(&out).Error; err != nil {
		return paging.List[Product]{}, fmt.Errorf("list recharge products: %w", err)
	}
	return paging.New(out, p, func(r Product) int64 { return r.ID }), nil
}

// Threshold is a site's own low-stock threshold for a product.
type Threshold struct {
	ProductID int64 `json:"product_id"`
	SiteID    int64 `json:"site_id"`
	Threshold int   `json:"threshold"`
}

func (Threshold) TableName() string { return "recharge_thresholds" }

// SetThreshold overrides a product's low-stock threshold at one site (admins,
// or the site's own staff).
func (s *Service) SetThreshold(ctx context.Context, c partners.Caller, productID, siteID int64, threshold int) (Threshold, error) {
	if err := c.Require(staffRoles...); err != nil {
		return Threshold{}, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return Threshold{}, err
	}
	if _, err := s.partners.Site(ctx, siteID); err != nil {
		return Threshold{}, err
	}
	if _, err := s.GetProduct(ctx, c, productID); err != nil {
		return Threshold{}, err
	}
	if threshold < 0 || threshold > 1_000_000 {
		return Threshold{}, apperr.Invalid("threshold", "must be between 0 and 1000000")
	}
	t := Threshold{ProductID: productID, SiteID: siteID, Threshold: threshold}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO recharge_thresholds (product_id, site_id, threshold) VALUES (?, ?, ?)
			ON CONFLICT (product_id, site_id) DO UPDATE SET threshold = excluded.threshold`, productID, siteID, threshold).Error; err != nil {
			return fmt.Errorf("set threshold: %w", err)
		}
		return audit.Record(ctx, tx, "recharge_threshold.set", "recharge_product", productID, map[string]any{"site_id": siteID, "threshold": threshold})
	})
	return t, err
}

// Batch is one imported operator file.
type Batch struct {
	ID         int64     `json:"id"`
	ProductID  int64     `json:"product_id"`
	SiteID     int64     `json:"site_id"`
	ImportedBy *int64    `json:"imported_by"`
	ImportedAt time.Time `json:"imported_at"`
	FileSHA256 string    `json:"sha256" gorm:"column:file_sha256"`
	Units      int       `json:"units"`
}

func (Batch) TableName() string { return "recharge_batches" }

// GetBatch returns an import batch of the caller's site (admins: any).
func (s *Service) GetBatch(ctx context.Context, c partners.Caller, id int64) (Batch, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return Batch{}, err
	}
	var b Batch
	if err := s.db.WithContext(ctx).Scopes(partners.AtOwnSite(c, "site_id")).Where("id = ?", id).Take(&b).Error; err != nil {
		return b, notFound(err, "recharge batch %d", id)
	}
	return b, nil
}
