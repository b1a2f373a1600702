package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Transfer statuses.
const (
	TransferDraft     = "draft"
	TransferShipped   = "shipped"
	TransferReceived  = "received"
	TransferCancelled = "cancelled"
)

// Transfer moves stock from one site to another: drafted, shipped (devices in
// transit), received by scanning at the destination.
type Transfer struct {
	ID         int64      `json:"id"`
	FromSiteID int64      `json:"from_site_id"`
	ToSiteID   int64      `json:"to_site_id"`
	Status     string     `json:"status"`
	Note       string     `json:"note"`
	CreatedBy  *int64     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ShippedBy  *int64     `json:"shipped_by"`
	ShippedAt  *time.Time `json:"shipped_at"`
	ReceivedBy *int64     `json:"received_by"`
	ReceivedAt *time.Time `json:"received_at"`
	Unexpected string     `json:"-"`
}

type transferDevice struct {
	TransferID  int64
	DeviceID    int64
	StateBefore State
	ReceivedAt  *time.Time
}

func (transferDevice) TableName() string { return "transfer_devices" }

// Scanned is what a site scanned: tags, serials or IMEIs, as the scanner typed them.
type Scanned struct {
	Codes []string `json:"codes"`
	// Recharges are the cards counted on arrival, by product; absent, every
	// card shipped arrived (sealed packs). A product counted short keeps
	// the rest in transit, reported missing.
	Recharges []RechargeLine `json:"recharges"`
	// Accessories are counted on arrival; what was shipped and not counted
	// is reported missing (a later receive counts it in).
	Accessories []AccessoryLine `json:"accessories"`
}

// AccessoryLine is a quantity of one accessory on a transfer.
type AccessoryLine = accessories.Quantity

// TransferAccessory is an accessory a transfer carries: how many shipped,
// how many counted on arrival so far.
type TransferAccessory struct {
	AccessoryID int64  `json:"accessory_id"`
	Name        string `json:"name"`
	Quantity    int    `json:"quantity"`
	Received    int    `json:"received"`
}

// RechargeLine is a quantity of one recharge product on a transfer.
type RechargeLine struct {
	ProductID int64 `json:"product_id"`
	Quantity  int   `json:"quantity"`
}

// NewTransfer is the input of CreateTransfer.
type NewTransfer struct {
	FromSiteID int64          `json:"from_site_id"`
	ToSiteID   int64          `json:"to_site_id"`
	DeviceIDs  []int64        `json:"device_ids"`
	Recharges  []RechargeLine `json:"recharges"`
	// Accessories are picked at the source by quantity.
	Accessories []AccessoryLine `json:"accessories"`
	Note        *string         `json:"note"`
}

// TransferItem is a device on a transfer.
type TransferItem struct {
	DeviceRef
	Received bool `json:"received"`
}

// TransferView is a transfer with its items.
type TransferView struct {
	Transfer
	Devices   []TransferItem `json:"devices"`
	Recharges []RechargeLine `json:"recharges"`
	Missing   []DeviceRef    `json:"missing"`
	// MissingRecharges are the cards shipped and not counted on arrival.
	MissingRecharges []RechargeLine `json:"missing_recharges"`
	// Accessories are what it carries by quantity (received: counted so
	// far), MissingAccessories what was shipped and not counted.
	Accessories        []TransferAccessory `json:"accessories"`
	MissingAccessories []AccessoryLine     `json:"missing_accessories"`
	Unexpected         []string            `json:"unexpected"`
	// Waiting is what cards the transfer still carries (serial ranges),
	// for the reception page and the missing cards' serials.
	Waiting []recharges.InTransitLine `json:"-"`
	// Received lists what the last receive call put in stock.
	Received []DeviceRef `json:"received,omitempty"`
}

// cannotTravel says why a device may not go on a transfer from one site to
// another (a message format and its arguments), if it may not.
func cannotTravel(d Device, from, to partners.Organization) (string, []any, bool) {
	switch {
	case d.SiteID != from.ID:
		return "%s is not at %s", []any{d.Tag, from.Name}, true
	case !shippable(d.State):
		return "%s is %s (only ready, in-stock or returned devices travel)", []any{d.Tag, d.State}, true
	case d.State == Returned && to.Kind != partners.KindWarehouse:
		return "%s was returned: it goes back to a warehouse for diagnosis", []any{d.Tag}, true
	}
	return "", nil, false
}

// CheckTravel resolves a scanned code to a device that may go on a transfer
// from one site to another, or says why it may not, before the transfer
// is drafted (the same rule CreateTransfer applies).
func (s *Service) CheckTravel(ctx context.Context, c partners.Caller, fromSiteID, toSiteID int64, code string) (Device, error) {
	d, err := s.FindByCode(ctx, c, code)
	if err != nil {
		return d, err
	}
	from, err := s.partners.Site(ctx, fromSiteID)
	if err != nil {
		return d, err
	}
	to := partners.Organization{Kind: partners.KindSpace}
	if toSiteID != 0 {
		if to, err = s.partners.Site(ctx, toSiteID); err != nil {
			return d, err
		}
	}
	if format, args, bad := cannotTravel(d, from, to); bad {
		return d, apperr.Conflict("device-unavailable", format, args...)
	}
	if err := notSetAside([]Device{d}, s.now()); err != nil {
		return d, err
	}
	// A device on another draft is said at the scan, not at the draft's
	// creation.
	var drafts []int64
	if err := s.db.WithContext(ctx).Table("transfer_devices td").Joins("JOIN transfers t ON t.id = td.transfer_id").
		Where("td.device_id = ? AND t.status = ?", d.ID, TransferDraft).Limit(1).Pluck("td.transfer_id", &drafts).Error; err != nil {
		return d, fmt.Errorf("open transfers: %w", err)
	}
	if len(drafts) > 0 {
		return d, apperr.Conflict("device-unavailable", "%s is already on draft transfer %d", d.Tag, drafts[0])
	}
	return d, nil
}

// notSetAside refuses devices set aside for a person (409 device-reserved):
// a reserved device waits at its space until it is sold or freed.
func notSetAside(devices []Device, now time.Time) error {
	for _, d := range devices {
		if d.ReservedAt(now) {
			return apperr.Conflict("device-reserved", "%s is set aside for a person until %s: cancel the reservation first", d.Tag, d.ReservedUntil.Format(time.DateOnly))
		}
	}
	return nil
}

// shippable is the state a device leaves from, by origin site kind.
func shippable(s State) bool { return s == Ready || s == InStock || s == Returned }

// CreateTransfer drafts a transfer from the caller's site (admins: any site).
func (s *Service) CreateTransfer(ctx context.Context, c partners.Caller, in NewTransfer) (TransferView, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return TransferView{}, err
	}
	v := &apperr.ValidationError{}
	from, err := s.transferSite(ctx, v, "from_site_id", in.FromSiteID)
	if err != nil {
		return TransferView{}, err
	}
	to, err := s.transferSite(ctx, v, "to_site_id", in.ToSiteID)
	if err != nil {
		return TransferView{}, err
	}
	if in.FromSiteID != 0 && in.FromSiteID == in.ToSiteID {
		v.Field("to_site_id", "must differ from from_site_id")
	}
	if own, ok := c.SiteID(); ok && in.FromSiteID != 0 && own != in.FromSiteID {
		v.Field("from_site_id", "you ship from your own site (id %d)", own)
	}
	if len(in.DeviceIDs) == 0 && len(in.Recharges) == 0 && len(in.Accessories) == 0 {
		v.Field("device_ids", "a transfer carries at least one device, recharge or accessory")
	}
	seenAccessory := map[int64]bool{}
	for i, a := range in.Accessories {
		field := fmt.Sprintf("accessories[%d]", i)
		switch {
		case s.acc == nil:
			v.Field(field, "this server does not keep accessories")
		case seenAccessory[a.AccessoryID]:
			v.Field(field+".accessory_id", "accessory %d is listed twice", a.AccessoryID)
		default:
			if _, err := s.acc.Get(ctx, partners.Caller{Role: partners.RoleAdmin}, a.AccessoryID); errors.Is(err, apperr.ErrNotFound) {
				v.Field(field+".accessory_id", "no accessory %d", a.AccessoryID)
			} else if err != nil {
				return TransferView{}, err
			}
		}
		seenAccessory[a.AccessoryID] = true
		if a.Quantity <= 0 || a.Quantity > 100_000 {
			v.Field(field+".quantity", "must be between 1 and 100000")
		}
	}
	seen := map[int64]bool{}
	for _, id := range in.DeviceIDs {
		if seen[id] {
			v.Field("device_ids", "device %d is listed twice", id)
		}
		seen[id] = true
	}
	seenProduct := map[int64]bool{}
	for i, r := range in.Recharges {
		field := fmt.Sprintf("recharges[%d]", i)
		switch _, err := s.recharges.FindProduct(ctx, r.ProductID); {
		case errors.Is(err, apperr.ErrNotFound):
			v.Field(field+".product_id", "no recharge product %d", r.ProductID)
		case err != nil:
			return TransferView{}, fmt.Errorf("recharge product %d: %w", r.ProductID, err)
		case seenProduct[r.ProductID]:
			v.Field(field+".product_id", "product %d is listed twice", r.ProductID)
		}
		seenProduct[r.ProductID] = true
		if r.Quantity <= 0 || r.Quantity > 100_000 {
			v.Field(field+".quantity", "must be between 1 and 100000")
		}
	}
	note := OrEmpty(in.Note)
	if len([]rune(note)) > 2000 {
		v.Field("note", "must be at most 2000 characters")
	}
	if err := v.Err(); err != nil {
		return TransferView{}, err
	}
	var t Transfer
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		devices, err := s.visibleByIDs(tx, c, in.DeviceIDs)
		if err != nil {
			return err
		}
		if err := notSetAside(devices, s.now()); err != nil {
			return err
		}
		var problems []string
		for _, d := range devices {
			if format, args, bad := cannotTravel(d, from, to); bad {
				problems = append(problems, fmt.Sprintf(format, args...))
			}
		}
		var busy []struct {
			Tag        string
			TransferID int64
		}
		if len(in.DeviceIDs) > 0 {
			if err := tx.Table("transfer_devices td").Select("d.tag, td.transfer_id").
				Joins("JOIN transfers t ON t.id = td.transfer_id").Joins("JOIN devices d ON d.id = td.device_id").
				Where("td.device_id IN ? AND t.status = ?", in.DeviceIDs, TransferDraft).Scan(&busy).Error; err != nil {
				return fmt.Errorf("open transfers: %w", err)
			}
		}
		for _, b := range busy {
			problems = append(problems, fmt.Sprintf("%s is already on draft transfer %d", b.Tag, b.TransferID))
		}
		today := s.now().In(from.Location()).Format(time.DateOnly)
		for _, r := range in.Recharges {
			n, err := s.recharges.Sellable(tx, r.ProductID, from.ID, today)
			if err != nil {
				return err
			}
			if n < int64(r.Quantity) {
				return apperr.Conflict("stock-short", "only %d unit(s) of recharge product %d at %s, %d asked", n, r.ProductID, from.Name, r.Quantity)
			}
		}
		if len(problems) == 1 && len(busy) == 1 {
			// One device on another draft: said by its own key, in French on the pages.
			return apperr.Conflict("device-unavailable", "%s is already on draft transfer %d", busy[0].Tag, busy[0].TransferID)
		}
		if len(problems) > 0 {
			return apperr.Conflict("device-unavailable", "%s", strings.Join(problems, "; "))
		}
		t = Transfer{FromSiteID: from.ID, ToSiteID: to.ID, Status: TransferDraft, Note: note, CreatedAt: s.now(), Unexpected: "[]"}
		if c.UserID != 0 {
			uid := c.UserID
			t.CreatedBy = &uid
		}
		if err := tx.Create(&t).Error; err != nil {
			return fmt.Errorf("create transfer: %w", err)
		}
		for _, d := range devices {
			if err := tx.Create(&transferDevice{TransferID: t.ID, DeviceID: d.ID, StateBefore: d.State}).Error; err != nil {
				return fmt.Errorf("add %s to transfer: %w", d.Tag, err)
			}
		}
		for _, r := range in.Recharges {
			if err := tx.Exec(`INSERT INTO transfer_recharges (transfer_id, product_id, quantity) VALUES (?, ?, ?)`, t.ID, r.ProductID, r.Quantity).Error; err != nil {
				return fmt.Errorf("add recharges to transfer: %w", err)
			}
		}
		for _, a := range in.Accessories {
			var have int
			if err := tx.Raw(`SELECT COALESCE(MAX(available), 0) FROM accessory_stock WHERE site_id = ? AND accessory_id = ?`, from.ID, a.AccessoryID).Scan(&have).Error; err != nil {
				return fmt.Errorf("accessory stock: %w", err)
			}
			if have < a.Quantity {
				return apperr.Conflict("short", "only %d of accessory %d at %s, %d asked", have, a.AccessoryID, from.Name, a.Quantity)
			}
			if err := tx.Exec(`INSERT INTO transfer_accessories (transfer_id, accessory_id, quantity) VALUES (?, ?, ?)`, t.ID, a.AccessoryID, a.Quantity).Error; err != nil {
				return fmt.Errorf("add accessories to transfer: %w", err)
			}
		}
		return audit.Record(ctx, tx, "transfer.create", "transfer", t.ID, map[string]any{"from": from.ID, "to": to.ID, "devices": len(devices)})
	})
	if err != nil {
		return TransferView{}, err
	}
	return s.transferView(ctx, s.db.WithContext(ctx), t)
}

func (s *Service) transferSite(ctx context.Context, v *apperr.ValidationError, field string, id int64) (partners.Organization, error) {
	if id == 0 {
		v.Field(field, "is required")
		return partners.Organization{}, nil
	}
	o, err := s.partners.Site(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) {
		v.Field(field, "no warehouse or space has id %d", id)
		return o, nil
	}
	return o, err // a database failure is no validation problem
}

// transferFor loads a transfer the caller may see: admins any, site staff
// those leaving or reaching their site.
func (s *Service) transferFor(tx *gorm.DB, c partners.Caller, id int64) (Transfer, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return Transfer{}, err
	}
	q := tx.Where("id = ?", id)
	if !c.IsAdmin() {
		site, _ := c.SiteID()
		q = q.Where("from_site_id = ? OR to_site_id = ?", site, site)
	}
	var t Transfer
	if err := q.Take(&t).Error; err != nil {
		return t, notFound(err, "transfer %d", id)
	}
	return t, nil
}

// GetTransfer returns a transfer with its items.
func (s *Service) GetTransfer(ctx context.Context, c partners.Caller, id int64) (TransferView, error) {
	db := s.db.WithContext(ctx)
	t, err := s.transferFor(db, c, id)
	if err != nil {
		return TransferView{}, err
	}
	return s.transferView(ctx, db, t)
}

func (s *Service) transferView(ctx context.Context, db *gorm.DB, t Transfer) (TransferView, error) {
	view := TransferView{Transfer: t, Devices: []TransferItem{}, Recharges: []RechargeLine{}, Missing: []DeviceRef{}, Unexpected: []string{}}
	var rows []struct {
		Device
		ReceivedFlag *time.Time `gorm:"column:td_received_at"`
	}
	if err := db.Table("transfer_devices td").Select("devices.*, td.received_at AS td_received_at").
		Joins("JOIN devices ON devices.id = td.device_id").Where("td.transfer_id = ?", t.ID).
		Order("devices.tag").Scan(&rows).Error; err != nil {
		return view, fmt.Errorf("items of transfer %d: %w", t.ID, err)
	}
	for _, r := range rows {
		item := TransferItem{DeviceRef: refOf(r.Device), Received: r.ReceivedFlag != nil}
		view.Devices = append(view.Devices, item)
		if t.Status == TransferReceived && !item.Received {
			view.Missing = append(view.Missing, item.DeviceRef)
		}
	}
	if err := db.Table("transfer_recharges").Select("product_id, quantity").Where("transfer_id = ?", t.ID).
		Order("product_id").Scan(&view.Recharges).Error; err != nil {
		return view, fmt.Errorf("recharges of transfer %d: %w", t.ID, err)
	}
	if view.Recharges == nil {
		view.Recharges = []RechargeLine{}
	}
	view.MissingRecharges = []RechargeLine{}
	view.Accessories, view.MissingAccessories = []TransferAccessory{}, []AccessoryLine{}
	if err := db.Table("transfer_accessories ta").Select("ta.accessory_id, a.name, ta.quantity, ta.received").
		Joins("JOIN accessories a ON a.id = ta.accessory_id").Where("ta.transfer_id = ?", t.ID).Order("a.name, ta.accessory_id").
		Scan(&view.Accessories).Error; err != nil {
		return view, fmt.Errorf("accessories of transfer %d: %w", t.ID, err)
	}
	if t.Status == TransferReceived {
		for _, a := range view.Accessories {
			if a.Quantity > a.Received {
				view.MissingAccessories = append(view.MissingAccessories, AccessoryLine{AccessoryID: a.AccessoryID, Quantity: a.Quantity - a.Received})
			}
		}
	}
	if len(view.Recharges) > 0 && (t.Status == TransferShipped || t.Status == TransferReceived) {
		waiting, err := s.recharges.InTransit(db, t.ID)
		if err != nil {
			return view, err
		}
		view.Waiting = waiting
		for _, w := range waiting {
			if t.Status == TransferReceived {
				view.MissingRecharges = append(view.MissingRecharges, RechargeLine{ProductID: w.ProductID, Quantity: w.Quantity})
			}
		}
	}
	_ = json.Unmarshal([]byte(t.Unexpected), &view.Unexpected)
	return view, nil
}

// ListTransfers lists the transfers the caller may see, optionally by status.
func (s *Service) ListTransfers(ctx context.Context, c partners.Caller, status string, p paging.Page) (paging.List[Transfer], error) {
	if err := c.Require(StaffRoles...); err != nil {
		return paging.List[Transfer]{}, err
	}
	q := s.db.WithContext(ctx).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if !c.IsAdmin() {
		site, _ := c.SiteID()
		q = q.Where("from_site_id = ? OR to_site_id = ?", site, site)
	}
	switch status {
	case "":
	case TransferDraft, TransferShipped, TransferReceived, TransferCancelled:
		q = q.Where("status = ?", status)
	default:
		return paging.List[Transfer]{}, apperr.Invalid("status", "must be draft, shipped, received or cancelled")
	}
	var out []Transfer
	if err := q.Find(&out).Error; err != nil {
		return paging.List[Transfer]{}, fmt.Errorf("list transfers: %w", err)
	}
	return paging.New(out, p, func(t Transfer) int64 { return t.ID }), nil
}

// senderTransfer loads a transfer for an action only its sending site (or an
// admin) takes: verb says which, in the refusal.
func (s *Service) senderTransfer(tx *gorm.DB, c partners.Caller, id int64, verb string) (Transfer, error) {
	t, err := s.transferFor(tx, c, id)
	if err != nil {
		return t, err
	}
	if err := c.CheckSite(t.FromSiteID); err != nil {
		return t, fmt.Errorf("only the sending site %s transfer %d: %w", verb, id, apperr.ErrForbidden)
	}
	return t, nil
}

// ShipTransfer sends a draft: every device leaves its shelf for in_transit,
// or, if any cannot (sold meanwhile, say), nothing moves.
func (s *Service) ShipTransfer(ctx context.Context, c partners.Caller, id int64) (TransferView, error) {
	var view TransferView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		t, err := s.senderTransfer(tx, c, id, "ships")
		if err != nil {
			return err
		}
		if t.Status != TransferDraft {
			return apperr.Conflict("invalid-transition", "transfer %d is %s: only a draft can be shipped", id, t.Status)
		}
		now := s.now()
		res := tx.Model(&Transfer{}).Where("id = ? AND status = ?", id, TransferDraft).
			Updates(map[string]any{"status": TransferShipped, "shipped_at": now, "shipped_by": c.UserRef()})
		if res.Error != nil {
			return fmt.Errorf("ship transfer %d: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("invalid-transition", "transfer %d was shipped or cancelled meanwhile", id)
		}
		var items []transferDevice
		if err := tx.Where("transfer_id = ?", id).Find(&items).Error; err != nil {
			return fmt.Errorf("items of transfer %d: %w", id, err)
		}
		var fig figures.Tally
		for _, it := range items {
			var d Device
			if err := tx.Where("id = ?", it.DeviceID).Take(&d).Error; err != nil {
				return fmt.Errorf("device %d: %w", it.DeviceID, err)
			}
			res := tx.Model(&Device{}).Where("id = ? AND site_id = ? AND state = ? AND "+notReserved, d.ID, t.FromSiteID, it.StateBefore, now).
				Updates(map[string]any{"state": InTransit, "updated_at": now})
			if res.Error != nil {
				return fmt.Errorf("ship %s: %w", d.Tag, res.Error)
			}
			if res.RowsAffected != 1 && d.ReservedAt(now) {
				return notSetAside([]Device{d}, now)
			}
			if res.RowsAffected != 1 {
				return apperr.Conflict("device-unavailable", "device %s is now %s, no longer %s at the sending site: remove it from the transfer", d.Tag, d.State, it.StateBefore)
			}
			if err := s.event(tx, &fig, c, d, d.SiteID, "ship", it.StateBefore, InTransit, map[string]any{"transfer_id": id, "to_site_id": t.ToSiteID}); err != nil {
				return err
			}
		}
		if err := fig.Flush(tx); err != nil {
			return err
		}
		if err := s.moveAccessories(tx, c, t, nil); err != nil {
			return err
		}
		if err := s.shipRecharges(tx, t); err != nil {
			return err
		}
		t.Status, t.ShippedAt, t.ShippedBy = TransferShipped, &now, c.UserRef()
		view, err = s.transferView(ctx, tx, t)
		return err
	})
	return view, err
}

// ReceiveTransfer records what the destination scanned: each shipped device
// scanned goes on its shelves (in stock at a space; ready, or returned for
// diagnosis, at a warehouse). What was shipped and not scanned stays in
// transit and is reported missing; what was scanned and not shipped is
// reported unexpected. Receiving again (a second box, a retry) adds to it.
func (s *Service) ReceiveTransfer(ctx context.Context, c partners.Caller, id int64, in Scanned) (TransferView, error) {
	codes := in.Codes
	if len(codes) > MaxStockCodes {
		return TransferView{}, apperr.Invalid("codes", "at most %d codes", MaxStockCodes)
	}
	var view TransferView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		t, err := s.transferFor(tx, c, id)
		if err != nil {
			return err
		}
		if err := c.CheckSite(t.ToSiteID); err != nil {
			return fmt.Errorf("only the receiving site receives transfer %d: %w", id, apperr.ErrForbidden)
		}
		if t.Status != TransferShipped && t.Status != TransferReceived {
			return apperr.Conflict("invalid-transition", "transfer %d is %s: only a shipped transfer can be received", id, t.Status)
		}
		to, err := partners.SiteIn(tx, t.ToSiteID)
		if err != nil {
			return err
		}
		var items []transferDevice
		if err := tx.Where("transfer_id = ?", id).Find(&items).Error; err != nil {
			return fmt.Errorf("items of transfer %d: %w", id, err)
		}
		onTransfer := map[int64]transferDevice{}
		ids := make([]int64, 0, len(items))
		for _, it := range items {
			onTransfer[it.DeviceID] = it
			ids = append(ids, it.DeviceID)
		}
		var unexpected []string
		_ = json.Unmarshal([]byte(t.Unexpected), &unexpected)
		known := map[string]bool{}
		for _, u := range unexpected {
			known[u] = true
		}
		now := s.now()
		var received []DeviceRef
		done := map[int64]bool{}
		var fig figures.Tally
		// Every code is resolved at once among the transfer's devices, then
		// read in the order scanned.
		normalized := make([]string, 0, len(codes))
		for _, raw := range codes {
			if code := NormalizeCode(raw); code != "" {
				normalized = append(normalized, code)
			}
		}
		found, err := s.resolveCodes(tx.Model(&Device{}).Where("devices.id IN ?", ids), normalized)
		if err != nil {
			return err
		}
		for _, code := range normalized {
			d, ok := found[code]
			if !ok {
				if !known[code] {
					known[code] = true
					unexpected = append(unexpected, code)
				}
				continue
			}
			it := onTransfer[d.ID]
			if done[d.ID] || it.ReceivedAt != nil {
				continue // scanned twice, or received by an earlier call
			}
			done[d.ID] = true
			target := InStock
			if to.Kind == partners.KindWarehouse {
				target = Ready
				if it.StateBefore == Returned {
					target = Returned
				}
			}
			res := tx.Model(&Device{}).Where("id = ? AND state = ?", d.ID, InTransit).
				Updates(map[string]any{"state": target, "site_id": t.ToSiteID, "updated_at": now})
			if res.Error != nil {
				return fmt.Errorf("receive %s: %w", d.Tag, res.Error)
			}
			if res.RowsAffected != 1 {
				return apperr.Conflict("device-unavailable", "device %s is %s, not in transit", d.Tag, d.State)
			}
			if err := tx.Model(&transferDevice{}).Where("transfer_id = ? AND device_id = ?", id, d.ID).Update("received_at", now).Error; err != nil {
				return fmt.Errorf("mark %s received: %w", d.Tag, err)
			}
			d.SiteID = t.ToSiteID
			if err := s.event(tx, &fig, c, d, t.FromSiteID, "receive", InTransit, target, map[string]any{"transfer_id": id, "from_site_id": t.FromSiteID}); err != nil {
				return err
			}
			d.State = target
			received = append(received, refOf(d))
		}
		if err := fig.Flush(tx); err != nil {
			return err
		}
		// Cards arrive as counted, by product; uncounted, all of them.
		var counted map[int64]int
		if in.Recharges != nil {
			counted = map[int64]int{}
			for _, r := range in.Recharges {
				counted[r.ProductID] += r.Quantity
			}
		}
		if err := s.recharges.Receive(tx, id, t.ToSiteID, counted); err != nil {
			return err
		}
		if err := s.moveAccessories(tx, c, t, in.Accessories); err != nil {
			return err
		}
		un, _ := json.Marshal(unexpected)
		changes := map[string]any{"status": TransferReceived, "unexpected": string(un)}
		if t.ReceivedAt == nil {
			changes["received_at"], changes["received_by"] = now, c.UserRef()
		}
		if err := tx.Model(&Transfer{}).Where("id = ?", id).Updates(changes).Error; err != nil {
			return fmt.Errorf("receive transfer %d: %w", id, err)
		}
		if err := tx.Where("id = ?", id).Take(&t).Error; err != nil {
			return err
		}
		view, err = s.transferView(ctx, tx, t)
		view.Received = received
		if view.Received == nil {
			view.Received = []DeviceRef{}
		}
		return err
	})
	return view, err
}

// shipRecharges sends the cards of each recharge line, or fails the whole
// shipment when a line is short.
func (s *Service) shipRecharges(tx *gorm.DB, t Transfer) error {
	var lines []RechargeLine
	if err := tx.Table("transfer_recharges").Select("product_id, quantity").Where("transfer_id = ?", t.ID).Scan(&lines).Error; err != nil {
		return fmt.Errorf("recharges of transfer %d: %w", t.ID, err)
	}
	for _, l := range lines {
		if err := s.recharges.Ship(tx, t.ID, l.ProductID, t.FromSiteID, l.Quantity); err != nil {
			return err
		}
	}
	return nil
}

// CancelTransfer drops a draft.
func (s *Service) CancelTransfer(ctx context.Context, c partners.Caller, id int64) (TransferView, error) {
	var view TransferView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		t, err := s.senderTransfer(tx, c, id, "cancels")
		if err != nil {
			return err
		}
		res := tx.Model(&Transfer{}).Where("id = ? AND status = ?", id, TransferDraft).Update("status", TransferCancelled)
		if res.Error != nil {
			return fmt.Errorf("cancel transfer %d: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("invalid-transition", "transfer %d is %s: only a draft can be cancelled", id, t.Status)
		}
		t.Status = TransferCancelled
		if err := audit.Record(ctx, tx, "transfer.cancel", "transfer", id, nil); err != nil {
			return err
		}
		view, err = s.transferView(ctx, tx, t)
		return err
	})
	return view, err
}

// moveAccessories takes a transfer's accessories out of its source when it
// ships (counted nil), or into its destination as counted on arrival:
// at most what is still on the way of each; what is not counted stays
// missing.
func (s *Service) moveAccessories(tx *gorm.DB, c partners.Caller, t Transfer, counted []AccessoryLine) error {
	var lines []TransferAccessory
	if err := tx.Table("transfer_accessories").Select("accessory_id, quantity, received").Where("transfer_id = ?", t.ID).
		Order("accessory_id").Scan(&lines).Error; err != nil {
		return fmt.Errorf("accessories of transfer %d: %w", t.ID, err)
	}
	if len(lines) == 0 && len(counted) == 0 {
		return nil
	}
	if s.acc == nil {
		return fmt.Errorf("transfer %d carries accessories and this server does not keep them: %w", t.ID, apperr.ErrUnavailable)
	}
	tid := t.ID
	if counted == nil && t.Status == TransferDraft {
		for _, l := range lines {
			if _, err := s.acc.Move(tx, c, accessories.Line{AccessoryID: l.AccessoryID, SiteID: t.FromSiteID, Quantity: -l.Quantity,
				Kind: accessories.TransferOut, TransferID: &tid}); err != nil {
				return err
			}
		}
		return nil
	}
	pending := map[int64]int{}
	for _, l := range lines {
		pending[l.AccessoryID] = l.Quantity - l.Received
	}
	v := &apperr.ValidationError{}
	sum := map[int64]int{}
	for i, a := range counted {
		sum[a.AccessoryID] += a.Quantity
		p, on := pending[a.AccessoryID]
		switch {
		case !on:
			v.Field(fmt.Sprintf("accessories[%d].accessory_id", i), "accessory %d is not on this transfer", a.AccessoryID)
		case a.Quantity < 0:
			v.Field(fmt.Sprintf("accessories[%d].quantity", i), "a count cannot be negative")
		case sum[a.AccessoryID] > p:
			v.Field(fmt.Sprintf("accessories[%d].quantity", i), "%d counted, %d on the way", sum[a.AccessoryID], p)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, l := range lines {
		n := sum[l.AccessoryID]
		if n == 0 {
			continue
		}
		if _, err := s.acc.Move(tx, c, accessories.Line{AccessoryID: l.AccessoryID, SiteID: t.ToSiteID, Quantity: n,
			Kind: accessories.TransferIn, TransferID: &tid}); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE transfer_accessories SET received = received + ? WHERE transfer_id = ? AND accessory_id = ? AND received + ? <= quantity`,
			n, t.ID, l.AccessoryID, n)
		if res.Error != nil {
			return fmt.Errorf("count accessories of transfer %d: %w", t.ID, res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("invalid-transition", "accessories of transfer %d were counted meanwhile; count again", t.ID)
		}
	}
	return nil
}
