// Package accessories keeps the stock of what has no serial number and is
// counted by quantity: chargers, cables, cases, SIM cards, mice. A site's
// stock is the sum of an append-only ledger of movements (a donated box
// received, a correction after counting, a transfer out and in, a sale, a
// refund); accessory_stock holds that sum per site, changed in the
// movement's own transaction by an update that never takes it below zero.
package accessories

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/invariant"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/partners"
)

// Kinds of accessories.
var Kinds = []string{"charger", "cable", "case", "sim", "peripheral", "other"}

// Movement kinds.
const (
	Receipt     = "receipt"
	Correction  = "correction"
	TransferOut = "transfer_out"
	TransferIn  = "transfer_in"
	Sale        = "sale"
	Refund      = "refund"
)

// Accessory is a kind of item the network stocks by quantity.
type Accessory struct {
	ID                  int64     `json:"id"`
	Name                string    `json:"name"`
	Kind                string    `json:"kind"`
	PriceCents          int64     `json:"price_cents"`
	ReferencePriceCents *int64    `json:"reference_price_cents"`
	Barcode             *string   `json:"barcode"`
	LowStockThreshold   int       `json:"low_stock_threshold"`
	Active              bool      `json:"active"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// Movement is one line of the ledger.
type Movement struct {
	ID          int64     `json:"id"`
	AccessoryID int64     `json:"accessory_id"`
	SiteID      int64     `json:"site_id"`
	Quantity    int       `json:"quantity"`
	Kind        string    `json:"kind"`
	Reason      string    `json:"reason"`
	TransferID  *int64    `json:"transfer_id,omitempty"`
	SaleID      *int64    `json:"sale_id,omitempty"`
	UserID      *int64    `json:"user_id"`
	CreatedAt   time.Time `json:"created_at"`
	// Available is the site's stock of the accessory after the movement.
	Available int `json:"available" gorm:"-"`
}

func (Movement) TableName() string { return "accessory_movements" }

// Stock is what a site has of an accessory.
type Stock struct {
	AccessoryID int64 `json:"accessory_id"`
	SiteID      int64 `json:"site_id"`
	Available   int   `json:"available"`
	Low         bool  `json:"low"`
}

// Config is what the service needs.
type Config struct {
	DB       *database.DB
	Partners *partners.Service
	Now      func() time.Time // nil means database.Now
}

// Service keeps the accessories and their ledger.
type Service struct {
	db       *database.DB
	partners *partners.Service
	now      func() time.Time
}

// NewService builds the service.
func NewService(c Config) *Service {
	now := c.Now
	if now == nil {
		now = database.Now
	}
	return &Service{db: c.DB, partners: c.Partners, now: now}
}

var StaffRoles = []partners.Role{partners.RoleAdmin, partners.RoleWarehouse, partners.RoleSpace}

// NewAccessory is the input of Create.
type NewAccessory struct {
	Name                string  `json:"name"`
	Kind                string  `json:"kind"`
	PriceCents          *int64  `json:"price_cents"`
	ReferencePriceCents *int64  `json:"reference_price_cents"`
	Barcode             *string `json:"barcode"`
	LowStockThreshold   *int    `json:"low_stock_threshold"`
}

// Patch changes an accessory.
type Patch struct {
	Name                *string `json:"name"`
	Kind                *string `json:"kind"`
	PriceCents          *int64  `json:"price_cents"`
	ReferencePriceCents *int64  `json:"reference_price_cents"`
	Barcode             *string `json:"barcode"`
	LowStockThreshold   *int    `json:"low_stock_threshold"`
	Active              *bool   `json:"active"`
}

const maxPrice = 100_000 // 1,000 €: no accessory costs more here

// check reads the fields given, recording each problem.
func check(v *apperr.ValidationError, p Patch) map[string]any {
	ch := map[string]any{}
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		switch {
		case n == "" || len([]rune(n)) > 200:
			v.Field("name", "is required, at most 200 characters")
		case !textcheck.CleanName(n):
			v.Field("name", textcheck.NameMessage)
		}
		ch["name"] = n
	}
	if p.Kind != nil {
		k := strings.TrimSpace(*p.Kind)
		if !contains(Kinds, k) {
			v.Field("kind", "must be one of %s", strings.Join(Kinds, ", "))
		}
		ch["kind"] = k
	}
	if p.PriceCents != nil {
		if *p.PriceCents < 0 || *p.PriceCents > maxPrice {
			v.Field("price_cents", "must be between 0 and %d", maxPrice)
		}
		ch["price_cents"] = *p.PriceCents
	}
	if p.ReferencePriceCents != nil {
		if *p.ReferencePriceCents < 0 || *p.ReferencePriceCents > maxPrice {
			v.Field("reference_price_cents", "must be between 0 and %d", maxPrice)
		}
		ch["reference_price_cents"] = *p.ReferencePriceCents
	}
	if p.Barcode != nil {
		b := strings.TrimSpace(*p.Barcode)
		switch {
		case b == "":
			ch["barcode"] = nil
		case len(b) > 64 || strings.ContainsAny(b, " \t\r\n"):
			v.Field("barcode", "must be the code printed on the box, without spaces, at most 64 characters")
		default:
			ch["barcode"] = b
		}
	}
	if p.LowStockThreshold != nil {
		if *p.LowStockThreshold < 0 || *p.LowStockThreshold > 1_000_000 {
			v.Field("low_stock_threshold", "must be between 0 and 1000000")
		}
		ch["low_stock_threshold"] = *p.LowStockThreshold
	}
	if p.Active != nil {
		ch["active"] = *p.Active
	}
	return ch
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Create adds an accessory (admins).
func (s *Service) Create(ctx context.Context, c partners.Caller, in NewAccessory) (Accessory, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return Accessory{}, err
	}
	v := &apperr.ValidationError{}
	if in.PriceCents == nil {
		v.Field("price_cents", "is required (0 for an accessory given free)")
	}
	ch := check(v, Patch{Name: &in.Name, Kind: &in.Kind, PriceCents: in.PriceCents, ReferencePriceCents: in.ReferencePriceCents,
		Barcode: in.Barcode, LowStockThreshold: in.LowStockThreshold})
	if err := v.Err(); err != nil {
		return Accessory{}, err
	}
	now := s.now()
	a := Accessory{Name: ch["name"].(string), Kind: ch["kind"].(string), PriceCents: *in.PriceCents, ReferencePriceCents: in.ReferencePriceCents,
		Active: true, CreatedAt: now, UpdatedAt: now}
	if b, ok := ch["barcode"].(string); ok {
		a.Barcode = &b
	}
	if in.LowStockThreshold != nil {
		a.LowStockThreshold = *in.LowStockThreshold
	}
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&a).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Invalid("barcode", "%s is already the barcode of another accessory", *a.Barcode)
			}
			return fmt.Errorf("create accessory: %w", err)
		}
		return audit.Record(ctx, tx, "accessory.create", "accessory", a.ID, map[string]any{"name": a.Name, "kind": a.Kind})
	})
	return a, err
}

// Update changes an accessory (admins).
func (s *Service) Update(ctx context.Context, c partners.Caller, id int64, p Patch) (Accessory, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return Accessory{}, err
	}
	if p == (Patch{}) {
		return Accessory{}, apperr.Invalid("body", "nothing to change: send name, kind, price_cents, reference_price_cents, barcode, low_stock_threshold or active")
	}
	v := &apperr.ValidationError{}
	ch := check(v, p)
	if err := v.Err(); err != nil {
		return Accessory{}, err
	}
	var a Accessory
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&a).Error; err != nil {
			return database.NotFound(err, "accessory %d", id)
		}
		if len(ch) == 0 {
			return nil
		}
		ch["updated_at"] = s.now()
		if err := tx.Model(&Accessory{}).Where("id = ?", id).Updates(ch).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Invalid("barcode", "%v is already the barcode of another accessory", ch["barcode"])
			}
			return fmt.Errorf("update accessory %d: %w", id, err)
		}
		delete(ch, "updated_at")
		if err := audit.Record(ctx, tx, "accessory.update", "accessory", id, ch); err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&a).Error
	})
	return a, err
}

// List lists the accessories, active ones first then by name (staff).
func (s *Service) List(ctx context.Context, c partners.Caller) ([]Accessory, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	out := []Accessory{}
	if err := s.db.WithContext(ctx).Order("active DESC, name, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list accessories: %w", err)
	}
	return out, nil
}

// OnShelf is an accessory with how many a site has.
type OnShelf struct {
	Accessory
	Available int
}

// Shelf is every accessory with its stock at a site, in one statement (the
// counter redraws it at every scan): the catalogue's order, those the site
// never had at 0.
func (s *Service) Shelf(ctx context.Context, c partners.Caller, siteID int64) ([]OnShelf, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return nil, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
	}
	var rows []OnShelf
	if err := s.db.WithContext(ctx).Raw(`SELECT a.*, COALESCE(st.available, 0) AS available
		FROM accessories a LEFT JOIN accessory_stock st ON st.accessory_id = a.id AND st.site_id = ?
		ORDER BY a.active DESC, a.name, a.id`, siteID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("accessories at site %d: %w", siteID, err)
	}
	return rows, nil
}

// Get is one accessory (staff).
func (s *Service) Get(ctx context.Context, c partners.Caller, id int64) (Accessory, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return Accessory{}, err
	}
	var a Accessory
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return a, database.NotFound(err, "accessory %d", id)
	}
	return a, nil
}

// ByBarcode finds the accessory whose box carries code; ErrNotFound when
// none does (the scan tries the next kind).
func (s *Service) ByBarcode(ctx context.Context, c partners.Caller, code string) (Accessory, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return Accessory{}, err
	}
	var a Accessory
	code = strings.TrimSpace(code)
	if code == "" {
		return a, fmt.Errorf("accessory barcode: %w", apperr.ErrNotFound)
	}
	if err := s.db.WithContext(ctx).Where("barcode = ?", code).Take(&a).Error; err != nil {
		return a, database.NotFound(err, "accessory with barcode %s", code)
	}
	return a, nil
}

// Scan resolves a scanned code to an accessory for GET /scan/{code}.
func (s *Service) Scan(ctx context.Context, c partners.Caller, code string) (string, any, error) {
	a, err := s.ByBarcode(ctx, c, code)
	if err != nil {
		return "", nil, err
	}
	return "accessory", a, nil
}

// NewMovement is a receipt or a correction at a site.
type NewMovement struct {
	AccessoryID int64  `json:"accessory_id"`
	Quantity    int    `json:"quantity"`
	Reason      string `json:"reason"`
}

// maxMove bounds one movement: a typo of a few zeros is caught.
const maxMove = 100_000

// Record writes a receipt (a positive quantity, a box received) or a
// correction after counting (either sign, with its reason) at a site:
// warehouse staff at their warehouse, space staff at their space, admins
// anywhere; another site's stock is not found. Stock never goes below zero
// (409 short).
func (s *Service) Record(ctx context.Context, c partners.Caller, siteID int64, in NewMovement) (Movement, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return Movement{}, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return Movement{}, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
	}
	v := &apperr.ValidationError{}
	reason := strings.TrimSpace(in.Reason)
	kind := Receipt
	switch {
	case in.AccessoryID <= 0:
		v.Field("accessory_id", "is required")
	}
	switch {
	case in.Quantity == 0 || in.Quantity > maxMove || in.Quantity < -maxMove:
		v.Field("quantity", "must be a whole number from -%d to %d, not 0", maxMove, maxMove)
	case reason != "":
		kind = Correction
	case in.Quantity < 0:
		v.Field("reason", "is required for a correction (what the count found, a breakage…)")
	}
	if len([]rune(reason)) > 500 {
		v.Field("reason", "must be at most 500 characters")
	}
	if err := v.Err(); err != nil {
		return Movement{}, err
	}
	var m Movement
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		if _, err := partners.SiteIn(tx, siteID); err != nil {
			return err
		}
		var a Accessory
		if err := tx.Where("id = ?", in.AccessoryID).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.Invalid("accessory_id", "no accessory has id %d", in.AccessoryID)
			}
			return fmt.Errorf("accessory %d: %w", in.AccessoryID, err)
		}
		var err error
		m, err = s.Move(tx, c, Line{AccessoryID: a.ID, SiteID: siteID, Quantity: in.Quantity, Kind: kind, Reason: reason})
		return err
	})
	return m, err
}

// Line is a movement another domain's transaction writes (a transfer, a
// sale, a refund), with what caused it.
type Line struct {
	AccessoryID int64
	SiteID      int64
	Quantity    int
	Kind        string
	Reason      string
	TransferID  *int64
	SaleID      *int64
}

// Move appends a movement and changes the site's stock in tx, or fails
// with 409 short when the stock would go below zero.
func (s *Service) Move(tx *gorm.DB, c partners.Caller, l Line) (Movement, error) {
	m := Movement{AccessoryID: l.AccessoryID, SiteID: l.SiteID, Quantity: l.Quantity, Kind: l.Kind, Reason: l.Reason,
		TransferID: l.TransferID, SaleID: l.SaleID, UserID: c.UserRef(), CreatedAt: s.now()}
	if l.Quantity > 0 {
		// The row may not exist yet: created at zero, then raised.
		if err := tx.Exec(`INSERT INTO accessory_stock (site_id, accessory_id, available) VALUES (?, ?, 0)
			ON CONFLICT (site_id, accessory_id) DO NOTHING`, l.SiteID, l.AccessoryID).Error; err != nil {
			return m, fmt.Errorf("accessory stock: %w", err)
		}
	}
	res := tx.Exec(`UPDATE accessory_stock SET available = available + ? WHERE site_id = ? AND accessory_id = ? AND available + ? >= 0`,
		l.Quantity, l.SiteID, l.AccessoryID, l.Quantity)
	if res.Error != nil {
		return m, fmt.Errorf("accessory stock: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		var have int
		tx.Raw(`SELECT COALESCE(MAX(available), 0) FROM accessory_stock WHERE site_id = ? AND accessory_id = ?`, l.SiteID, l.AccessoryID).Scan(&have)
		return m, apperr.Conflict("short", "only %d of accessory %d at site %d, %d asked", have, l.AccessoryID, l.SiteID, -l.Quantity)
	}
	if err := tx.Create(&m).Error; err != nil {
		return m, fmt.Errorf("record accessory movement: %w", err)
	}
	if err := tx.Raw(`SELECT available FROM accessory_stock WHERE site_id = ? AND accessory_id = ?`, l.SiteID, l.AccessoryID).Scan(&m.Available).Error; err != nil {
		return m, fmt.Errorf("accessory stock: %w", err)
	}
	return m, nil
}

// Enough is Move's refusal without the move, for a basket checked before
// payment: qty of the accessory at the site, or 409 short with what there
// is. It reads one row and locks nothing.
func (s *Service) Enough(db *gorm.DB, siteID, accessoryID int64, qty int) error {
	var have int64
	if err := db.Raw(`SELECT COALESCE(MAX(available), 0) FROM accessory_stock WHERE site_id = ? AND accessory_id = ?`, siteID, accessoryID).Scan(&have).Error; err != nil {
		return fmt.Errorf("accessory stock: %w", err)
	}
	if have < int64(qty) {
		return apperr.Conflict("short", "only %d of accessory %d at site %d, %d asked", have, accessoryID, siteID, qty)
	}
	return nil
}

// StockOf is the stock of the sites the caller sees (a space and a
// warehouse their own; admins every site, or one), with low marks.
func (s *Service) StockOf(ctx context.Context, c partners.Caller, siteID int64) ([]Stock, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	if siteID != 0 {
		if err := c.CheckSite(siteID); err != nil {
			return nil, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
		}
	}
	q := s.db.WithContext(ctx).Table("accessory_stock s").Select("s.accessory_id, s.site_id, s.available, s.available <= a.low_stock_threshold AS low").
		Joins("JOIN accessories a ON a.id = s.accessory_id").Order("s.site_id, a.name, s.accessory_id")
	if siteID != 0 {
		q = q.Where("s.site_id = ?", siteID)
	} else if own, ok := c.SiteID(); ok && !c.IsAdmin() {
		q = q.Where("s.site_id = ?", own)
	}
	out := []Stock{}
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("accessory stock: %w", err)
	}
	return out, nil
}

// Check verifies the ledger: each site's stock is the sum of its
// movements and never below zero, and every movement names what caused it.
func (s *Service) Check(ctx context.Context) ([]invariant.Breach, error) {
	db := s.db.WithContext(ctx)
	var out []invariant.Breach
	var sums []struct {
		SiteID, AccessoryID int64
		Sum                 int
		Available           *int
	}
	if err := db.Raw(`SELECT m.site_id, m.accessory_id, SUM(m.quantity) AS sum, st.available
		FROM accessory_movements m LEFT JOIN accessory_stock st ON st.site_id = m.site_id AND st.accessory_id = m.accessory_id
		GROUP BY m.site_id, m.accessory_id, st.available`).Scan(&sums).Error; err != nil {
		return nil, fmt.Errorf("accessory ledger: %w", err)
	}
	for _, r := range sums {
		switch {
		case r.Sum < 0:
			out = append(out, invariant.Breach{Rule: "accessory-stock", Detail: fmt.Sprintf("accessory %d at site %d: its movements sum to %d, below zero", r.AccessoryID, r.SiteID, r.Sum)})
		case r.Available == nil || *r.Available != r.Sum:
			out = append(out, invariant.Breach{Rule: "accessory-stock", Detail: fmt.Sprintf("accessory %d at site %d: stock %v, its movements sum to %d", r.AccessoryID, r.SiteID, deref(r.Available), r.Sum)})
		}
	}
	var orphans []struct {
		ID   int64
		Kind string
	}
	if err := db.Raw(`SELECT id, kind FROM accessory_movements WHERE
		(kind IN ('transfer_out', 'transfer_in') AND transfer_id IS NULL) OR (kind IN ('sale', 'refund') AND sale_id IS NULL)
		OR (kind = 'correction' AND reason = '') ORDER BY id LIMIT 100`).Scan(&orphans).Error; err != nil {
		return nil, fmt.Errorf("accessory movements: %w", err)
	}
	for _, o := range orphans {
		out = append(out, invariant.Breach{Rule: "accessory-cause", Detail: fmt.Sprintf("accessory movement %d (%s) names no cause", o.ID, o.Kind)})
	}
	return out, nil
}

func deref(p *int) any {
	if p == nil {
		return "none"
	}
	return *p
}
