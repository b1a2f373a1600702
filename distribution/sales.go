package distribution

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

// Payment methods.
var PaymentMethods = []string{"cash", "card", "free"}

// SaleItem is one line asked for: a device, or a quantity of a recharge product.
type SaleItem struct {
	DeviceID    int64 `json:"device_id,omitempty"`
	ProductID   int64 `json:"product_id,omitempty"`
	AccessoryID int64 `json:"accessory_id,omitempty"`
	Quantity    int   `json:"quantity,omitempty"`
}

// SaleRequest is the body of POST /sales.
type SaleRequest struct {
	SiteID        int64      `json:"site_id"`
	VoucherCode   string     `json:"voucher_code"`
	PaymentMethod string     `json:"payment_method"`
	Items         []SaleItem `json:"items"`
	// Handover is the person's signature for the devices, when the
	// network asks for one.
	Handover *Handover `json:"handover,omitempty"`
	// preview marks a basket shown before the payment: the person signs
	// at the payment, not for each scan.
	preview bool
}

// Sale is a sale at a site's counter.
type Sale struct {
	ID            int64     `json:"id"`
	SiteID        int64     `json:"site_id"`
	SellerID      *int64    `json:"seller_id"`
	VoucherID     int64     `json:"-"`
	BeneficiaryID int64     `json:"-"`
	PaymentMethod string    `json:"payment_method"`
	TotalCents    int64     `json:"total_cents"`
	LocalDate     string    `json:"local_date"`
	ReceiptPrints int       `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
}

// SaleLine is one thing sold.
type SaleLine struct {
	ID             int64  `json:"id"`
	SaleID         int64  `json:"-"`
	Kind           string `json:"kind"`
	DeviceID       *int64 `json:"device_id,omitempty"`
	ProductID      *int64 `json:"product_id,omitempty"`
	RechargeUnitID *int64 `json:"-"`
	Description    string `json:"description"`
	PriceCents     int64  `json:"price_cents"`
	FaceValueCents *int64 `json:"face_value_cents,omitempty"`
	RefundID       *int64 `json:"refund_id,omitempty"`
	// An accessory's line: how many, at PriceCents each, and how many were
	// brought back since (kept in sale_accessories, not sale_lines).
	AccessoryID *int64 `json:"accessory_id,omitempty" gorm:"-"`
	Quantity    int    `json:"quantity,omitempty" gorm:"-"`
	Refunded    int    `json:"refunded,omitempty" gorm:"-"`
	// ReferenceCents is the accessory's price new at the sale, which its
	// savings were counted from.
	ReferenceCents *int64 `json:"-" gorm:"-"`
}

// SaleItemView is a line as the till shows it: a recharge carries its
// serial, and on the sale's own answer its PIN.
type SaleItemView struct {
	SaleLine
	Tag       string `json:"tag,omitempty"`
	Serial    string `json:"serial,omitempty"`
	PIN       string `json:"pin,omitempty"`
	ExpiresOn string `json:"expires_on,omitempty"`
}

// SaleView is a sale with its lines and the voucher after it.
type SaleView struct {
	Sale
	Items   []SaleItemView `json:"items"`
	Voucher SaleVoucher    `json:"voucher"`
	// Read is what a preview read on its way, which the counter's page
	// would otherwise read again at every scan (nil after a sale).
	Read *PreviewRead `json:"-"`
}

// PreviewRead is the network's handover setting and conditions, and how
// many reservations the voucher has still active.
type PreviewRead struct {
	Handover     string
	HandoverText string
	Reserved     int
}

// SaleVoucher is the voucher as the sale left it.
type SaleVoucher struct {
	Code      string       `json:"code"`
	Status    string       `json:"status"`
	Remaining Entitlements `json:"remaining"`
}

const maxItems = 50

// maxAccessories bounds one accessory's quantity in a sale.
const maxAccessories = 100

// check validates a request's own fields and merges repeated products.
func (r *SaleRequest) check() error {
	v := &apperr.ValidationError{}
	if r.SiteID <= 0 {
		v.Field("site_id", "is required")
	}
	if strings.TrimSpace(r.VoucherCode) == "" {
		v.Field("voucher_code", "is required")
	}
	if !slices.Contains(PaymentMethods, r.PaymentMethod) {
		v.Field("payment_method", "must be cash, card or free")
	}
	switch n := len(r.Items); {
	case n == 0:
		v.Field("items", "a sale has at least one item")
	case n > maxItems:
		// Not one error per item: a list this long is refused whole.
		v.Field("items", "at most %d items per sale, not %d", maxItems, n)
		return v.Err()
	}
	devices := map[int64]bool{}
	qty, accQty := map[int64]int{}, map[int64]int{}
	var order, accOrder []int64
	var merged []SaleItem
	for i, it := range r.Items {
		field := fmt.Sprintf("items[%d]", i)
		switch {
		case it.AccessoryID > 0 && it.DeviceID == 0 && it.ProductID == 0:
			if it.Quantity < 1 || it.Quantity > maxAccessories {
				v.Field(field+".quantity", "must be between 1 and %d", maxAccessories)
			}
			if _, seen := accQty[it.AccessoryID]; !seen {
				accOrder = append(accOrder, it.AccessoryID)
			}
			accQty[it.AccessoryID] += it.Quantity
		case it.DeviceID > 0 && it.ProductID == 0 && it.Quantity == 0:
			if devices[it.DeviceID] {
				v.Field(field, "device %d is listed twice", it.DeviceID)
			}
			devices[it.DeviceID] = true
			merged = append(merged, it)
		case it.ProductID > 0 && it.DeviceID == 0 && it.AccessoryID == 0:
			if it.Quantity < 1 || it.Quantity > maxRecharges {
				v.Field(field+".quantity", "must be between 1 and %d", maxRecharges)
			}
			if _, seen := qty[it.ProductID]; !seen {
				order = append(order, it.ProductID)
			}
			qty[it.ProductID] += it.Quantity
		default:
			v.Field(field, "an item is {\"device_id\"}, {\"product_id\", \"quantity\"} or {\"accessory_id\", \"quantity\"}")
		}
	}
	for _, p := range order {
		merged = append(merged, SaleItem{ProductID: p, Quantity: qty[p]})
	}
	for _, a := range accOrder {
		merged = append(merged, SaleItem{AccessoryID: a, Quantity: accQty[a]})
	}
	r.Items = merged
	if r.Handover != nil {
		r.Handover.check(v)
	}
	return v.Err()
}

// hash identifies a request for idempotency: the same key with another body
// is refused.
func (r SaleRequest) hash() string {
	code, err := NormalizeCode(r.VoucherCode)
	if err != nil {
		code = r.VoucherCode
	}
	b, _ := json.Marshal(struct {
		SiteID  int64
		Code    string
		Payment string
		Items   []SaleItem
	}{r.SiteID, code, r.PaymentMethod, r.Items})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ErrReplay marks an answer given again for an idempotency key.
var ErrReplay = errors.New("replayed")

// Sell makes one sale, in one transaction: the idempotency key, the voucher
// (active, valid, categories, entitlements), the network's per-person policy,
// each device sold by a conditional update, recharge cards allocated
// first-expiring, entitlements consumed, lines at today's prices, events.
// Any failure leaves nothing behind. A replay of the key returns the first
// sale (replayed is then true); the same key with another body is 422.
func (s *Service) Sell(ctx context.Context, c partners.Caller, key string, req SaleRequest) (view SaleView, replayed bool, err error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleSpace); err != nil {
		return SaleView{}, false, err
	}
	key = strings.TrimSpace(key)
	if key == "" || len(key) > 200 {
		return SaleView{}, false, apperr.Invalid("Idempotency-Key", "send an Idempotency-Key header (a random value per sale, the same on retries), at most 200 characters")
	}
	code, err := s.admit(ctx, c, &req)
	if err != nil {
		return SaleView{}, false, err
	}
	hash := req.hash()
	uid := c.UserID

	err = s.inTx(ctx, func(tx *gorm.DB) error {
		// Claim the key first: a concurrent request with the same key waits
		// on it (PostgreSQL) or on the write lock (SQLite), then sees it taken.
		if err := tx.Exec(`INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)`,
			uid, key, hash, s.now()).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return ErrReplay
			}
			return fmt.Errorf("idempotency key: %w", err)
		}
		v, err := s.sell(ctx, tx, c, req, code, key)
		if err != nil {
			return err
		}
		view = v
		return nil
	})
	if errors.Is(err, ErrReplay) {
		v, rerr := s.replay(ctx, c, uid, key, hash)
		return v, true, rerr
	}
	if errors.Is(err, errUnknownVoucher) {
		s.lookupFailed(ctx, "unknown")
	}
	return view, false, err
}

// admit checks a sale request before its transaction: its fields, the
// seller's site, the rate of bad codes, the code's form.
func (s *Service) admit(ctx context.Context, c partners.Caller, req *SaleRequest) (string, error) {
	if err := req.check(); err != nil {
		return "", err
	}
	if own, ok := c.SiteID(); !c.IsAdmin() && (!ok || own != req.SiteID) {
		return "", fmt.Errorf("you sell at your own site only: %w", apperr.ErrForbidden)
	}
	// A sale resolves a voucher code as a lookup does: failures count toward
	// the same per-user limit and audit, or sales would be an oracle for codes.
	if err := s.checkLookupRate(s.db.WithContext(ctx), c); err != nil {
		return "", err
	}
	code, err := NormalizeCode(req.VoucherCode)
	if err != nil {
		s.lookupFailed(ctx, "mistyped")
		return "", invalidCode("voucher_code", err)
	}
	return code, nil
}

// PreviewSale checks a basket by the sale's own rules (device in stock
// here, category on the voucher, entitlements, the person's yearly limit,
// stock, the day still open) without making it: the same steps as Sell,
// reading what each would take. It writes nothing and locks nothing, so
// the counter's scans never hold up a sale. The view has no ids, serials
// nor PINs.
func (s *Service) PreviewSale(ctx context.Context, c partners.Caller, req SaleRequest) (SaleView, error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleSpace); err != nil {
		return SaleView{}, err
	}
	code, err := s.admit(ctx, c, &req)
	if err != nil {
		return SaleView{}, err
	}
	// Read as it stands, outside any transaction: on SQLite a transaction
	// here would take the one writer at every scan.
	req.preview = true
	view, err := s.sell(ctx, s.db.WithContext(ctx), c, req, code, "")
	if errors.Is(err, errUnknownVoucher) {
		s.lookupFailed(ctx, "unknown")
	}
	if err != nil {
		return SaleView{}, err
	}
	return view, nil
}

// errUnknownVoucher is a sale naming a well-formed code nobody issued.
var errUnknownVoucher = fmt.Errorf("unknown voucher: %w", apperr.ErrNotFound)

// replay answers a key already used: the first sale, or 422 for another body.
// SaleOfKey is the sale a basket's key of the caller already made, or 0:
// a basket shown again (the back button, a reload) whose sale is done is
// that sale, never a basket of sold goods.
func (s *Service) SaleOfKey(ctx context.Context, c partners.Caller, key string) (int64, error) {
	if key == "" || c.UserID == 0 {
		return 0, nil
	}
	var ids []int64
	if err := s.db.WithContext(ctx).Table("idempotency_keys").Where("user_id = ? AND key = ? AND sale_id IS NOT NULL", c.UserID, key).
		Limit(1).Pluck("sale_id", &ids).Error; err != nil {
		return 0, fmt.Errorf("sale of key: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

func (s *Service) replay(ctx context.Context, c partners.Caller, uid int64, key, hash string) (SaleView, error) {
	var row struct {
		RequestHash string
		SaleID      *int64
	}
	if err := s.db.WithContext(ctx).Table("idempotency_keys").Where("user_id = ? AND key = ?", uid, key).Take(&row).Error; err != nil {
		return SaleView{}, fmt.Errorf("idempotency key: %w", err)
	}
	if row.RequestHash != hash {
		return SaleView{}, apperr.Invalid("Idempotency-Key", "this key was used for another sale: use a new key for a new sale")
	}
	if row.SaleID == nil {
		return SaleView{}, apperr.Conflict("in-progress", "a sale with this key is in progress; retry in a moment")
	}
	v, err := s.saleView(ctx, s.db.WithContext(ctx), *row.SaleID, true)
	if err != nil {
		return v, err
	}
	// The PINs are handed over again: audited, as a receipt reprint is.
	pins := 0
	for _, it := range v.Items {
		if it.PIN != "" {
			pins++
		}
	}
	if pins > 0 {
		if err := audit.Record(ctx, s.db.WithContext(ctx), "sale.replay", "sale", v.ID, map[string]any{"pins": pins}); err != nil {
			return SaleView{}, err
		}
	}
	return v, nil
}

// cmpErr is err, or fallback when there is none.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// checkOpen refuses a sale or refund on a day whose closing is recorded.
func (s *Service) checkOpen(tx *gorm.DB, siteID int64, localDate string) error {
	var n int64
	if err := tx.Table("closings").Where("site_id = ? AND local_date = ?", siteID, localDate).Count(&n).Error; err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	if n > 0 {
		return apperr.Conflict("day-closed", "the till of %s is closed: this day's sales are counted", localDate)
	}
	return nil
}

// saleView loads a sale with its lines; withPINs opens the recharge PINs
// (the sale's own answer and its receipt only).
func (s *Service) saleView(ctx context.Context, db *gorm.DB, id int64, withPINs bool) (SaleView, error) {
	var sale Sale
	if err := db.Where("id = ?", id).Take(&sale).Error; err != nil {
		return SaleView{}, notFound(err, "sale %d", id)
	}
	var lines []SaleLine
	if err := db.Where("sale_id = ?", id).Order("id").Find(&lines).Error; err != nil {
		return SaleView{}, fmt.Errorf("sale lines: %w", err)
	}
	view := SaleView{Sale: sale, Items: []SaleItemView{}}
	var unitIDs, deviceIDs []int64
	for _, l := range lines {
		if l.DeviceID != nil {
			deviceIDs = append(deviceIDs, *l.DeviceID)
		}
		if l.RechargeUnitID != nil {
			unitIDs = append(unitIDs, *l.RechargeUnitID)
		}
	}
	tags := map[int64]string{}
	if len(deviceIDs) > 0 {
		var rows []struct {
			ID  int64
			Tag string
		}
		if err := db.Table("devices").Select("id, tag").Where("id IN ?", deviceIDs).Scan(&rows).Error; err != nil {
			return SaleView{}, fmt.Errorf("sold devices: %w", err)
		}
		for _, r := range rows {
			tags[r.ID] = r.Tag
		}
	}
	for _, l := range lines {
		item := SaleItemView{SaleLine: l}
		if l.DeviceID != nil {
			item.Tag = tags[*l.DeviceID]
		}
		view.Items = append(view.Items, item)
	}
	if len(unitIDs) > 0 {
		units, err := s.recharges.SoldUnits(ctx, db, unitIDs, withPINs)
		if err != nil {
			return SaleView{}, err
		}
		for i := range view.Items {
			if id := view.Items[i].RechargeUnitID; id != nil {
				u := units[*id]
				view.Items[i].Serial, view.Items[i].PIN, view.Items[i].ExpiresOn = u.Serial, u.PIN, u.ExpiresOn
			}
		}
	}
	acc, err := saleAccessories(db, id)
	if err != nil {
		return SaleView{}, err
	}
	for _, l := range acc {
		view.Items = append(view.Items, SaleItemView{SaleLine: l})
	}
	var vo Voucher
	if err := db.Where("id = ?", sale.VoucherID).Take(&vo).Error; err != nil {
		return SaleView{}, fmt.Errorf("sale voucher: %w", err)
	}
	view.Voucher = SaleVoucher{Code: FormatCode(vo.Code), Status: vo.StatusAt(s.now()), Remaining: vo.Remaining()}
	return view, nil
}

// GetSale shows a sale to its site's staff and admins, without PINs.
func (s *Service) GetSale(ctx context.Context, c partners.Caller, id int64) (SaleView, error) {
	sale, err := s.saleFor(s.db.WithContext(ctx), c, id)
	if err != nil {
		return SaleView{}, err
	}
	return s.saleView(ctx, s.db.WithContext(ctx), sale.ID, false)
}

func (s *Service) saleFor(db *gorm.DB, c partners.Caller, id int64) (Sale, error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleSpace); err != nil {
		return Sale{}, err
	}
	var sale Sale
	if err := db.Scopes(partners.AtOwnSite(c, "site_id")).Where("id = ?", id).Take(&sale).Error; err != nil {
		return sale, notFound(err, "sale %d", id)
	}
	return sale, nil
}

// saleAccessories are a sale's accessories, as lines.
func saleAccessories(db *gorm.DB, saleID int64) ([]SaleLine, error) {
	var rows []struct {
		ID, SaleID, AccessoryID int64
		Description             string
		Quantity, Refunded      int
		PriceCents              int64
		ReferencePriceCents     *int64
	}
	if err := db.Table("sale_accessories").Where("sale_id = ?", saleID).Order("id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("accessories of sale %d: %w", saleID, err)
	}
	out := make([]SaleLine, 0, len(rows))
	for _, r := range rows {
		aid := r.AccessoryID
		out = append(out, SaleLine{ID: r.ID, SaleID: r.SaleID, Kind: "accessory", AccessoryID: &aid, Description: r.Description,
			Quantity: r.Quantity, Refunded: r.Refunded, PriceCents: r.PriceCents, ReferenceCents: r.ReferencePriceCents})
	}
	return out, nil
}

// nilIfEmpty is b, or NULL for none.
func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
