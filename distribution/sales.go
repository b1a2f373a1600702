package distribution

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/journal"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Payment methods.
var paymentMethods = []string{"cash", "card", "free"}

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
	// read is what a preview read on its way, which the counter's page
	// would otherwise read again at every scan.
	read *previewRead
}

// previewRead is the network's handover setting and conditions, and how
// many reservations the voucher has still active.
type previewRead struct {
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
	if !slices.Contains(paymentMethods, r.PaymentMethod) {
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
		return "", apperr.Invalid("voucher_code", "%s", strings.TrimSuffix(err.Error(), ": "+ErrCodeMistyped.Error()))
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

// saleHead is what a sale reads first, in one statement: the space and the
// voucher's person.
type saleHead struct {
	ID            int64
	Name          string
	Timezone      string
	BeneficiaryID int64
	// The network's handover setting and conditions, read with the head.
	Handover     string
	HandoverText string
}

// saleVoucher is the voucher, locked, with the person's sales so far: the
// devices of the last 12 months (devicesBought's count, for the yearly
// limit), and the days the person and the voucher were last served, for
// the network's distinct counts, which take a sale only where it is a first
// in its day.
type saleVoucher struct {
	Voucher
	LastPerson  string
	LastVoucher string
	Here        int64
	DevicesYear int
	// Reserved counts the voucher's reservations still active.
	Reserved int
}

// sell makes the sale in tx. key, when not empty, is the idempotency key
// the transaction claimed: it is given the sale in the sale's last writes.
// On PostgreSQL a sale of one device is six statements here (BEGIN, COMMIT
// and the key's claim aside): the head, the person's lock, the voucher with
// the person's history, the sale, the device with its event, and the last
// writes together; each recharge product adds two (the product, its cards).
func (s *Service) sell(ctx context.Context, tx *gorm.DB, c partners.Caller, req SaleRequest, code, key string) (SaleView, error) {
	now := s.now()
	// A preview (a basket checked at the counter) reads what the sale would
	// take, by the same rules, and writes nothing: no lock, no write
	// transaction, so a scan never holds up a sale.
	dry := req.preview
	lock := func(strength database.Strength, alias string) string {
		if dry {
			return ""
		}
		return s.db.LockOf(strength, alias)
	}
	// The site's row is shared by the day's sales and taken exclusively by
	// its closing: a closing waits for the sales in flight, and a sale that
	// starts after a closing sees it (PostgreSQL; SQLite runs one writer).
	var head saleHead
	q := tx.Raw(`SELECT o.id, o.name, o.timezone, COALESCE((SELECT v.beneficiary_id FROM vouchers v WHERE v.code = ?), 0) AS beneficiary_id,
			COALESCE((SELECT n.handover FROM network_identity n WHERE n.id = 1), 'off') AS handover,
			COALESCE((SELECT n.handover_text FROM network_identity n WHERE n.id = 1), '') AS handover_text
		FROM organizations o WHERE o.id = ? AND o.kind = ?`+lock(database.ForShare, "o"), code, req.SiteID, partners.KindSpace).Scan(&head)
	if q.Error != nil {
		return SaleView{}, fmt.Errorf("space %d: %w", req.SiteID, q.Error)
	}
	if q.RowsAffected == 0 {
		return SaleView{}, fmt.Errorf("space %d: %w", req.SiteID, apperr.ErrNotFound)
	}
	site := partners.Organization{ID: head.ID, Name: head.Name, Kind: partners.KindSpace, Timezone: head.Timezone}
	localDate := now.In(site.Location()).Format(time.DateOnly)
	if head.BeneficiaryID == 0 {
		return SaleView{}, fmt.Errorf("voucher %s: %w", FormatCode(code), errUnknownVoucher)
	}
	// The person first, then the voucher (the order renewals take too): the
	// yearly device limit counts the person's sales across all their
	// vouchers, so sales to one person queue here and count in turn. The
	// history is read in the next statement, after this lock: on
	// PostgreSQL that statement sees what a sale it waited for wrote.
	// Whether the day is closed is read here, after the site's lock, not
	// with it: a statement that waited for a lock still reads what was
	// committed when it began, and would miss the closing it waited for.
	var person struct {
		ID     int64
		Closed bool
	}
	q = tx.Raw(`SELECT b.id, EXISTS (SELECT 1 FROM closings c WHERE c.site_id = ? AND c.local_date = ?) AS closed
		FROM beneficiaries b WHERE b.id = ?`+lock(database.ForUpdate, "b"), site.ID, localDate, head.BeneficiaryID).Scan(&person)
	if q.Error != nil || q.RowsAffected == 0 {
		return SaleView{}, fmt.Errorf("beneficiary of voucher %s: %w", FormatCode(code), cmpErr(q.Error, gorm.ErrRecordNotFound))
	}
	if person.Closed {
		return SaleView{}, apperr.Conflict("day-closed", "the till of %s is closed: this day's sales are counted", localDate)
	}
	// Sales on one voucher queue here, so entitlements are checked in turn.
	// The person's sales are read from their own index (a sale's lines
	// from theirs), whatever the statistics say of the tables' size.
	var vo saleVoucher
	q = tx.Raw(`SELECT v.*,
			COALESCE((SELECT MAX(s.local_date) FROM sales s WHERE s.beneficiary_id = v.beneficiary_id), '') AS last_person,
			COALESCE((SELECT MAX(s.local_date) FROM sales s WHERE s.voucher_id = v.id), '') AS last_voucher,
			(SELECT COUNT(*) FROM sales s WHERE s.voucher_id = v.id AND s.site_id = ?) AS here,
			(SELECT COALESCE(SUM((SELECT COUNT(*) FROM sale_lines l WHERE l.sale_id = s.id AND l.kind = 'device' AND l.refund_id IS NULL)), 0)
				FROM sales s WHERE s.beneficiary_id = v.beneficiary_id AND s.created_at > ?) AS devices_year,
			(SELECT COUNT(*) FROM reservations r WHERE r.voucher_id = v.id AND r.status = 'active' AND r.expires_at > ?) AS reserved
		FROM vouchers v WHERE v.code = ?`+lock(database.ForUpdate, "v"), site.ID, now.AddDate(-1, 0, 0), now, code).Scan(&vo)
	if q.Error != nil || q.RowsAffected == 0 {
		return SaleView{}, fmt.Errorf("voucher %s: %w", FormatCode(code), cmpErr(q.Error, errUnknownVoucher))
	}
	if st := vo.StatusAt(now); st != StatusActive {
		return SaleView{}, apperr.Conflict("voucher-inactive", "voucher %s is %s", FormatCode(code), st)
	}
	devices, recharges := 0, 0
	for _, it := range req.Items {
		switch {
		case it.DeviceID > 0:
			devices++
		case it.ProductID > 0:
			recharges += it.Quantity
		}
	}
	if devices > 0 && head.Handover == partners.HandoverRequired && req.Handover == nil && !req.preview {
		return SaleView{}, apperr.Invalid("handover", "the person signs for the device: a signature drawn on the screen, or on paper")
	}
	left := vo.Remaining()
	if devices > left.Devices || recharges > left.Recharges {
		return SaleView{}, apperr.Conflict("entitlement-exhausted", "voucher %s allows %d more device(s) and %d more recharge(s); this sale asks %d and %d",
			FormatCode(code), left.Devices, left.Recharges, devices, recharges)
	}
	if devices > 0 && s.policy.DevicesPerYear > 0 && vo.DevicesYear+devices > s.policy.DevicesPerYear {
		return SaleView{}, apperr.Conflict("policy-limit", "this person already received %d device(s) in the last 12 months; the network allows %d",
			vo.DevicesYear, s.policy.DevicesPerYear)
	}
	sale := Sale{SiteID: site.ID, SellerID: c.UserRef(), VoucherID: vo.ID, BeneficiaryID: vo.BeneficiaryID, PaymentMethod: req.PaymentMethod,
		LocalDate: localDate, CreatedAt: now}
	if !dry {
		if err := tx.Create(&sale).Error; err != nil {
			return SaleView{}, fmt.Errorf("record sale: %w", err)
		}
	}
	cats := vo.Categories()
	var total int64
	var fig figures.Tally
	free := req.PaymentMethod == "free"
	// The lines are written with the sale's last writes, once known.
	var lines []SaleLine
	var items []SaleItemView
	for _, it := range req.Items {
		if it.DeviceID == 0 {
			continue
		}
		var d sellable
		var err error
		if dry {
			d, err = s.inventory.PeekDevice(ctx, tx, it.DeviceID, site.ID, vo.ID, cats)
		} else {
			d, err = s.inventory.SellDevice(ctx, tx, &fig, c, it.DeviceID, site.ID, sale.ID, vo.ID, cats)
		}
		if err != nil {
			return SaleView{}, err
		}
		price := int64(0)
		if d.PriceCents != nil {
			price = *d.PriceCents
		}
		fig.Add(localDate, site.ID, figures.Sold, string(d.Category), 1, 0)
		fig.Add(localDate, site.ID, figures.Savings, "", 0, figures.Saved("device", price, 0, figures.ReferencePrice(d.Specs), free))
		if d.ReadyAt.Valid {
			fig.SoldAfter(localDate, site.ID, d.ReadyAt.Time, now)
		}
		lines = append(lines, SaleLine{SaleID: sale.ID, Kind: "device", DeviceID: &d.ID, Description: d.Brand + " " + d.Model, PriceCents: price})
		items = append(items, SaleItemView{Tag: d.Tag})
		total += price
	}
	for _, it := range req.Items {
		if it.ProductID == 0 {
			continue
		}
		p, err := s.recharges.Product(tx, it.ProductID)
		if errors.Is(err, apperr.ErrNotFound) {
			return SaleView{}, apperr.Conflict("stock-short", "no recharge product %d", it.ProductID)
		}
		if err != nil {
			return SaleView{}, err
		}
		var units []cardSold
		if dry {
			units, err = s.recharges.Peek(ctx, tx, p.ID, site, it.Quantity)
		} else {
			units, err = s.recharges.Allocate(ctx, tx, &fig, p.ID, site, it.Quantity, &sale.ID)
		}
		if err != nil {
			return SaleView{}, err
		}
		for _, u := range units {
			uid, pid, face := u.ID, p.ID, p.FaceValueCents
			lines = append(lines, SaleLine{SaleID: sale.ID, Kind: "recharge", ProductID: &pid, RechargeUnitID: &uid, Description: p.Name,
				PriceCents: p.PriceCents, FaceValueCents: &face})
			items = append(items, SaleItemView{Serial: u.Serial, PIN: u.PIN, ExpiresOn: u.ExpiresOn})
			total += p.PriceCents
		}
		fig.Add(localDate, site.ID, figures.Recharges, strconv.FormatInt(p.ID, 10), int64(len(units)), int64(len(units))*p.FaceValueCents)
		fig.Add(localDate, site.ID, figures.Savings, "", 0, int64(len(units))*figures.Saved("recharge", p.PriceCents, p.FaceValueCents, 0, free))
	}
	// Accessories: no entitlement, their own stock (409 short beyond it).
	var accLines []SaleLine
	for _, it := range req.Items {
		if it.AccessoryID == 0 {
			continue
		}
		if s.acc == nil {
			return SaleView{}, apperr.Invalid("items", "this server does not sell accessories")
		}
		var a accessories.Accessory
		if err := tx.Where("id = ? AND active = ?", it.AccessoryID, true).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return SaleView{}, apperr.Invalid("items", "no accessory %d on sale", it.AccessoryID)
			}
			return SaleView{}, fmt.Errorf("accessory %d: %w", it.AccessoryID, err)
		}
		sid := sale.ID
		if dry {
			if err := s.acc.Enough(tx, site.ID, a.ID, it.Quantity); err != nil {
				return SaleView{}, err
			}
		} else if _, err := s.acc.Move(tx, c, accessories.Line{AccessoryID: a.ID, SiteID: site.ID, Quantity: -it.Quantity, Kind: accessories.Sale, SaleID: &sid}); err != nil {
			return SaleView{}, err
		}
		aid := a.ID
		accLines = append(accLines, SaleLine{SaleID: sale.ID, Kind: "accessory", AccessoryID: &aid, Quantity: it.Quantity, Description: a.Name, PriceCents: a.PriceCents,
			ReferenceCents: a.ReferencePriceCents})
		total += int64(it.Quantity) * a.PriceCents
		if a.ReferencePriceCents != nil {
			fig.Add(localDate, site.ID, figures.Savings, "", 0, int64(it.Quantity)*figures.Saved("device", a.PriceCents, 0, *a.ReferencePriceCents, free))
		}
	}
	for i, l := range accLines {
		if dry {
			break
		}
		row := map[string]any{"sale_id": l.SaleID, "accessory_id": *l.AccessoryID, "description": l.Description, "quantity": l.Quantity, "price_cents": l.PriceCents,
			"reference_price_cents": l.ReferenceCents}
		if err := tx.Table("sale_accessories").Create(row).Error; err != nil {
			return SaleView{}, fmt.Errorf("record the sale's accessories: %w", err)
		}
		var id int64
		if err := tx.Raw(`SELECT id FROM sale_accessories WHERE sale_id = ? AND accessory_id = ?`, l.SaleID, *l.AccessoryID).Scan(&id).Error; err != nil {
			return SaleView{}, fmt.Errorf("record the sale's accessories: %w", err)
		}
		accLines[i].ID = id
	}
	if vo.Reserved > 0 && devices > 0 && !dry {
		// Only a voucher with a reservation pays these statements.
		if err := s.settleReservations(tx, vo.ID, sale.ID, lines, left.Devices-devices, now); err != nil {
			return SaleView{}, err
		}
	}
	if req.PaymentMethod == "free" {
		total = 0 // a free sale is recorded at its value in the lines, with nothing taken
	}
	fig.Add(localDate, site.ID, figures.Sales, req.PaymentMethod, 1, total)
	figures.Served(&fig, localDate, vo.LastPerson, vo.LastVoucher)
	if vo.LastUsedAt == nil {
		figures.FirstUse(&fig, localDate, now, vo.OrganizationID, vo.CreatedAt, vo.ValidUntil)
	}
	if vo.Here == 0 {
		fig.Add(vo.CreatedAt.In(site.Location()).Format(time.DateOnly), site.ID, figures.IssuedUsedHere, "", 1, 0)
	}

	// The last writes, together (one statement on PostgreSQL): the lines,
	// the voucher's entitlements consumed by a conditional update (the last
	// word when two sales on one voucher race), the total, the person's
	// activity, the audit, the figures (appended to the deltas on
	// PostgreSQL, so that no two sales wait on one figure's row) and the
	// idempotency key's sale.
	status := StatusActive
	if left.Devices-devices == 0 && left.Recharges-recharges == 0 {
		status = StatusUsed
	}
	if dry {
		view := s.previewView(sale, vo, lines, items, accLines, total, devices, recharges, status, now)
		view.read = &previewRead{Handover: head.Handover, HandoverText: head.HandoverText, Reserved: vo.Reserved}
		return view, nil
	}
	var b database.Batch
	lineArgs := make([]any, 0, 8*len(lines))
	for _, l := range lines {
		lineArgs = append(lineArgs, l.SaleID, l.Kind, l.DeviceID, l.ProductID, l.RechargeUnitID, l.Description, l.PriceCents, l.FaceValueCents)
	}
	wLines := -1
	if len(lines) > 0 { // a sale of accessories alone has none
		wLines = b.Add(`INSERT INTO sale_lines (sale_id, kind, device_id, product_id, recharge_unit_id, description, price_cents, face_value_cents) VALUES `+
			database.Values(len(lines), 8), "id", lineArgs...)
	}
	wVoucher := b.Add(`UPDATE vouchers SET devices_used = devices_used + ?, recharges_used = recharges_used + ?, status = ?, last_used_at = ?
		WHERE id = ? AND status = ? AND devices_used + ? <= devices_allowed AND recharges_used + ? <= recharges_allowed`, "0",
		devices, recharges, status, now, vo.ID, StatusActive, devices, recharges)
	b.Add(`UPDATE sales SET total_cents = ? WHERE id = ?`, "0", total, sale.ID)
	if h := req.Handover; h != nil && devices > 0 {
		b.Add(`INSERT INTO sale_handovers (sale_id, conditions, on_paper, signature_png, created_at) VALUES (?, ?, ?, ?, ?)`, "0",
			sale.ID, head.HandoverText, h.OnPaper, nilIfEmpty(h.png), now)
	}
	b.Add(`UPDATE beneficiaries SET last_activity_at = ? WHERE id = ?`, "0", now, vo.BeneficiaryID)
	aq, aargs, err := audit.Statement(ctx, "sale.create", "sale", sale.ID, map[string]any{"voucher_id": vo.ID, "total_cents": total,
		"devices": devices, "recharges": recharges})
	if err != nil {
		return SaleView{}, err
	}
	b.Add(aq, "0", aargs...)
	if err := fig.AddTo(&b, tx); err != nil {
		return SaleView{}, err
	}
	if key != "" {
		b.Add(`UPDATE idempotency_keys SET sale_id = ? WHERE user_id = ? AND key = ?`, "0", sale.ID, c.UserID, key)
	}
	// The sale goes into its site's journal. The chain is taken last, so
	// that the site's next sale waits only for these writes: on PostgreSQL
	// within the batch's one statement, on SQLite (one writer at a time)
	// just before it.
	sale.TotalCents = total
	record, ref := newSaleRecord(sale, lines, accLines), strconv.FormatInt(sale.ID, 10)
	entry, err := journal.Last(tx, &b, site.ID, journal.Sale, ref, record, now)
	if err != nil {
		return SaleView{}, err
	}
	done, err := b.Run(tx)
	if err != nil {
		return SaleView{}, fmt.Errorf("record sale %d: %w", sale.ID, err)
	}
	if err := entry.Done(tx, done); err != nil {
		return SaleView{}, err
	}
	if done.Rows(wVoucher) != 1 {
		return SaleView{}, apperr.Conflict("entitlement-exhausted", "voucher %s was used meanwhile", FormatCode(code))
	}
	if wLines >= 0 && done.Rows(wLines) != len(lines) {
		return SaleView{}, fmt.Errorf("sale %d: %d lines written of %d", sale.ID, done.Rows(wLines), len(lines))
	}
	for i := range lines {
		lines[i].ID = done[wLines][i] // ids come in the order the lines were listed
	}
	return s.previewView(sale, vo, lines, items, accLines, total, devices, recharges, status, now), nil
}

// previewView is the sale's answer: its lines (with their ids once
// written), its total and what the voucher allows after it.
func (s *Service) previewView(sale Sale, vo saleVoucher, lines []SaleLine, items []SaleItemView, accLines []SaleLine, total int64, devices, recharges int, status string, now time.Time) SaleView {
	view := SaleView{Sale: sale}
	for i := range lines {
		items[i].SaleLine = lines[i]
		view.Items = append(view.Items, items[i])
	}
	for _, l := range accLines {
		view.Items = append(view.Items, SaleItemView{SaleLine: l})
	}
	view.TotalCents = total
	v := vo.Voucher
	v.DevicesUsed += devices
	v.RechargesUsed += recharges
	v.Status = status
	view.Voucher = SaleVoucher{Code: FormatCode(v.Code), Status: v.StatusAt(now), Remaining: v.Remaining()}
	return view
}

// The device and the cards a sale takes (named apart: sell counts its
// recharges in a variable of that name).
type (
	sellable = inventory.Device
	cardSold = recharges.SoldUnit
)

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
