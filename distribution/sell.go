package distribution

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// saleRun is one sale on its way. A preview (a basket checked at the
// counter) runs the same steps by the same rules, reading what each would
// take, and writes nothing: no lock, no write transaction, so a scan never
// holds up a sale.
type saleRun struct {
	s    *Service
	ctx  context.Context
	tx   *gorm.DB
	c    partners.Caller
	req  SaleRequest
	code string
	key  string // the idempotency key the transaction claimed, or ""
	now  time.Time
	dry  bool

	head      saleHead
	site      partners.Organization
	localDate string
	vo        saleVoucher
	// What the sale asks of the voucher, and what the voucher had left.
	devices, recharges int
	left               Entitlements
	sale               Sale
	lines              []SaleLine // devices and cards, written with the last writes
	items              []SaleItemView
	accLines           []SaleLine
	total              int64
	fig                figures.Tally
	status             string // the voucher's, after the sale
}

// sell makes the sale in tx, told in the order a person at the counter
// would tell it. On PostgreSQL a sale of one device is six statements here
// (BEGIN, COMMIT and the key's claim aside): the space, the person's lock,
// the voucher with the person's history, the sale, the device with its
// event, and the last writes together; each recharge product adds two (the
// product, its cards).
func (s *Service) sell(ctx context.Context, tx *gorm.DB, c partners.Caller, req SaleRequest, code, key string) (SaleView, error) {
	r := &saleRun{s: s, ctx: ctx, tx: tx, c: c, req: req, code: code, key: key, now: s.now(), dry: req.preview}
	for _, step := range []func() error{
		r.takeSpace,
		r.takePerson,
		r.takeVoucher,
		r.checkEntitlements,
		r.openSale,
		r.sellDevices,
		r.sellCards,
		r.sellAccessories,
		r.settleReservations,
		r.countFigures,
	} {
		if err := step(); err != nil {
			return SaleView{}, err
		}
	}
	if r.dry {
		view := r.view()
		view.Read = &PreviewRead{Handover: r.head.Handover, HandoverText: r.head.HandoverText, Reserved: r.vo.Reserved}
		return view, nil
	}
	if err := r.writeLast(); err != nil {
		return SaleView{}, err
	}
	return r.view(), nil
}

// lock is the row lock a sale takes at the end of a raw statement; a
// preview takes none.
func (r *saleRun) lock(strength database.Strength, alias string) string {
	if r.dry {
		return ""
	}
	return r.s.db.LockOf(strength, alias)
}

// takeSpace reads the space with the voucher's person and the network's
// handover setting. The site's row is shared by the day's sales and taken
// exclusively by its closing: a closing waits for the sales in flight, and
// a sale that starts after a closing sees it (PostgreSQL; SQLite runs one
// writer).
func (r *saleRun) takeSpace() error {
	q := r.tx.Raw(`SELECT o.id, o.name, o.timezone, COALESCE((SELECT v.beneficiary_id FROM vouchers v WHERE v.code = ?), 0) AS beneficiary_id,
			COALESCE((SELECT n.handover FROM network_identity n WHERE n.id = 1), 'off') AS handover,
			COALESCE((SELECT n.handover_text FROM network_identity n WHERE n.id = 1), '') AS handover_text
		FROM organizations o WHERE o.id = ? AND o.kind = ?`+r.lock(database.ForShare, "o"), r.code, r.req.SiteID, partners.KindSpace).Scan(&r.head)
	if q.Error != nil {
		return fmt.Errorf("space %d: %w", r.req.SiteID, q.Error)
	}
	if q.RowsAffected == 0 {
		return fmt.Errorf("space %d: %w", r.req.SiteID, apperr.ErrNotFound)
	}
	r.site = partners.Organization{ID: r.head.ID, Name: r.head.Name, Kind: partners.KindSpace, Timezone: r.head.Timezone}
	r.localDate = r.now.In(r.site.Location()).Format(time.DateOnly)
	if r.head.BeneficiaryID == 0 {
		return fmt.Errorf("voucher %s: %w", FormatCode(r.code), errUnknownVoucher)
	}
	return nil
}

// takePerson locks the person, and refuses a day whose till is closed. The
// person first, then the voucher (the order renewals take too): the yearly
// device limit counts the person's sales across all their vouchers, so
// sales to one person queue here and count in turn. The history is read in
// the next statement, after this lock: on PostgreSQL that statement sees
// what a sale it waited for wrote. Whether the day is closed is read here,
// after the site's lock, not with it: a statement that waited for a lock
// still reads what was committed when it began, and would miss the closing
// it waited for.
func (r *saleRun) takePerson() error {
	var person struct {
		ID     int64
		Closed bool
	}
	q := r.tx.Raw(`SELECT b.id, EXISTS (SELECT 1 FROM closings c WHERE c.site_id = ? AND c.local_date = ?) AS closed
		FROM beneficiaries b WHERE b.id = ?`+r.lock(database.ForUpdate, "b"), r.site.ID, r.localDate, r.head.BeneficiaryID).Scan(&person)
	if q.Error != nil || q.RowsAffected == 0 {
		return fmt.Errorf("beneficiary of voucher %s: %w", FormatCode(r.code), cmpErr(q.Error, gorm.ErrRecordNotFound))
	}
	if person.Closed {
		return apperr.Conflict("day-closed", "the till of %s is closed: this day's sales are counted", r.localDate)
	}
	return nil
}

// takeVoucher locks the voucher and reads the person's history with it.
// Sales on one voucher queue here, so entitlements are checked in turn.
// The person's sales are read from their own index (a sale's lines from
// theirs), whatever the statistics say of the tables' size.
func (r *saleRun) takeVoucher() error {
	q := r.tx.Raw(`SELECT v.*,
			COALESCE((SELECT MAX(s.local_date) FROM sales s WHERE s.beneficiary_id = v.beneficiary_id), '') AS last_person,
			COALESCE((SELECT MAX(s.local_date) FROM sales s WHERE s.voucher_id = v.id), '') AS last_voucher,
			(SELECT COUNT(*) FROM sales s WHERE s.voucher_id = v.id AND s.site_id = ?) AS here,
			(SELECT COALESCE(SUM((SELECT COUNT(*) FROM sale_lines l WHERE l.sale_id = s.id AND l.kind = 'device' AND l.refund_id IS NULL)), 0)
				FROM sales s WHERE s.beneficiary_id = v.beneficiary_id AND s.created_at > ?) AS devices_year,
			(SELECT COUNT(*) FROM reservations r WHERE r.voucher_id = v.id AND r.status = 'active' AND r.expires_at > ?) AS reserved
		FROM vouchers v WHERE v.code = ?`+r.lock(database.ForUpdate, "v"), r.site.ID, r.now.AddDate(-1, 0, 0), r.now, r.code).Scan(&r.vo)
	if q.Error != nil || q.RowsAffected == 0 {
		return fmt.Errorf("voucher %s: %w", FormatCode(r.code), cmpErr(q.Error, errUnknownVoucher))
	}
	if st := r.vo.StatusAt(r.now); st != StatusActive {
		return apperr.Conflict("voucher-inactive", "voucher %s is %s", FormatCode(r.code), st)
	}
	return nil
}

// checkEntitlements holds the basket against what the voucher still
// allows, the network's yearly limit per person, and its handover rule.
func (r *saleRun) checkEntitlements() error {
	for _, it := range r.req.Items {
		switch {
		case it.DeviceID > 0:
			r.devices++
		case it.ProductID > 0:
			r.recharges += it.Quantity
		}
	}
	if r.devices > 0 && r.head.Handover == partners.HandoverRequired && r.req.Handover == nil && !r.dry {
		return apperr.Invalid("handover", "the person signs for the device: a signature drawn on the screen, or on paper")
	}
	r.left = r.vo.Remaining()
	if r.devices > r.left.Devices || r.recharges > r.left.Recharges {
		return apperr.Conflict("entitlement-exhausted", "voucher %s allows %d more device(s) and %d more recharge(s); this sale asks %d and %d",
			FormatCode(r.code), r.left.Devices, r.left.Recharges, r.devices, r.recharges)
	}
	if policy := r.s.policy.DevicesPerYear; r.devices > 0 && policy > 0 && r.vo.DevicesYear+r.devices > policy {
		return apperr.Conflict("policy-limit", "this person already received %d device(s) in the last 12 months; the network allows %d",
			r.vo.DevicesYear, policy)
	}
	return nil
}

// openSale writes the sale's row, whose id the lines and the devices'
// events name.
func (r *saleRun) openSale() error {
	r.sale = Sale{SiteID: r.site.ID, SellerID: r.c.UserRef(), VoucherID: r.vo.ID, BeneficiaryID: r.vo.BeneficiaryID,
		PaymentMethod: r.req.PaymentMethod, LocalDate: r.localDate, CreatedAt: r.now}
	if r.dry {
		return nil
	}
	if err := r.tx.Create(&r.sale).Error; err != nil {
		return fmt.Errorf("record sale: %w", err)
	}
	return nil
}

// free says the sale takes no money: recorded at its value in the lines.
func (r *saleRun) free() bool { return r.req.PaymentMethod == "free" }

// sellDevices takes each device (in stock here, of a category the voucher
// allows, not set aside for another voucher) at its price.
func (r *saleRun) sellDevices() error {
	cats := r.vo.Categories()
	for _, it := range r.req.Items {
		if it.DeviceID == 0 {
			continue
		}
		var d inventory.Device
		var err error
		if r.dry {
			d, err = r.s.inventory.PeekDevice(r.ctx, r.tx, it.DeviceID, r.site.ID, r.vo.ID, cats)
		} else {
			d, err = r.s.inventory.SellDevice(r.ctx, r.tx, &r.fig, r.c, it.DeviceID, r.site.ID, r.sale.ID, r.vo.ID, cats)
		}
		if err != nil {
			return err
		}
		price := int64(0)
		if d.PriceCents != nil {
			price = *d.PriceCents
		}
		r.fig.Add(r.localDate, r.site.ID, figures.Sold, string(d.Category), 1, 0)
		r.fig.Add(r.localDate, r.site.ID, figures.Savings, "", 0, figures.Saved("device", price, 0, figures.ReferencePrice(d.Specs), r.free()))
		if d.ReadyAt.Valid {
			r.fig.SoldAfter(r.localDate, r.site.ID, d.ReadyAt.Time, r.now)
		}
		r.lines = append(r.lines, SaleLine{SaleID: r.sale.ID, Kind: "device", DeviceID: &d.ID, Description: d.Brand + " " + d.Model, PriceCents: price})
		r.items = append(r.items, SaleItemView{Tag: d.Tag})
		r.total += price
	}
	return nil
}

// sellCards takes each product's cards, the soonest to expire first.
func (r *saleRun) sellCards() error {
	for _, it := range r.req.Items {
		if it.ProductID == 0 {
			continue
		}
		p, err := r.s.recharges.Product(r.tx, it.ProductID)
		if errors.Is(err, apperr.ErrNotFound) {
			return apperr.Conflict("stock-short", "no recharge product %d", it.ProductID)
		}
		if err != nil {
			return err
		}
		var units []recharges.SoldUnit
		if r.dry {
			units, err = r.s.recharges.Peek(r.ctx, r.tx, p.ID, r.site, it.Quantity)
		} else {
			units, err = r.s.recharges.Allocate(r.ctx, r.tx, &r.fig, p.ID, r.site, it.Quantity, &r.sale.ID)
		}
		if err != nil {
			return err
		}
		for _, u := range units {
			uid, pid, face := u.ID, p.ID, p.FaceValueCents
			r.lines = append(r.lines, SaleLine{SaleID: r.sale.ID, Kind: "recharge", ProductID: &pid, RechargeUnitID: &uid, Description: p.Name,
				PriceCents: p.PriceCents, FaceValueCents: &face})
			r.items = append(r.items, SaleItemView{Serial: u.Serial, PIN: u.PIN, ExpiresOn: u.ExpiresOn})
			r.total += p.PriceCents
		}
		n := int64(len(units))
		r.fig.Add(r.localDate, r.site.ID, figures.Recharges, strconv.FormatInt(p.ID, 10), n, n*p.FaceValueCents)
		r.fig.Add(r.localDate, r.site.ID, figures.Savings, "", 0, n*figures.Saved("recharge", p.PriceCents, p.FaceValueCents, 0, r.free()))
	}
	return nil
}

// sellAccessories takes each accessory from the site's stock: no
// entitlement, their own stock (409 short beyond it).
func (r *saleRun) sellAccessories() error {
	for _, it := range r.req.Items {
		if it.AccessoryID == 0 {
			continue
		}
		if r.s.acc == nil {
			return apperr.Invalid("items", "this server does not sell accessories")
		}
		var a accessories.Accessory
		if err := r.tx.Where("id = ? AND active = ?", it.AccessoryID, true).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.Invalid("items", "no accessory %d on sale", it.AccessoryID)
			}
			return fmt.Errorf("accessory %d: %w", it.AccessoryID, err)
		}
		sid := r.sale.ID
		if r.dry {
			if err := r.s.acc.Enough(r.tx, r.site.ID, a.ID, it.Quantity); err != nil {
				return err
			}
		} else if _, err := r.s.acc.Move(r.tx, r.c, accessories.Line{AccessoryID: a.ID, SiteID: r.site.ID, Quantity: -it.Quantity,
			Kind: accessories.Sale, SaleID: &sid}); err != nil {
			return err
		}
		aid := a.ID
		r.accLines = append(r.accLines, SaleLine{SaleID: r.sale.ID, Kind: "accessory", AccessoryID: &aid, Quantity: it.Quantity,
			Description: a.Name, PriceCents: a.PriceCents, ReferenceCents: a.ReferencePriceCents})
		r.total += int64(it.Quantity) * a.PriceCents
		if a.ReferencePriceCents != nil {
			r.fig.Add(r.localDate, r.site.ID, figures.Savings, "", 0,
				int64(it.Quantity)*figures.Saved("device", a.PriceCents, 0, *a.ReferencePriceCents, r.free()))
		}
	}
	if r.dry {
		return nil
	}
	for i, l := range r.accLines {
		row := map[string]any{"sale_id": l.SaleID, "accessory_id": *l.AccessoryID, "description": l.Description, "quantity": l.Quantity,
			"price_cents": l.PriceCents, "reference_price_cents": l.ReferenceCents}
		if err := r.tx.Table("sale_accessories").Create(row).Error; err != nil {
			return fmt.Errorf("record the sale's accessories: %w", err)
		}
		var id int64
		if err := r.tx.Raw(`SELECT id FROM sale_accessories WHERE sale_id = ? AND accessory_id = ?`, l.SaleID, *l.AccessoryID).Scan(&id).Error; err != nil {
			return fmt.Errorf("record the sale's accessories: %w", err)
		}
		r.accLines[i].ID = id
	}
	return nil
}

// settleReservations ends the voucher's reservations the sale fulfils or
// can no longer honour. Only a voucher with a reservation pays these
// statements.
func (r *saleRun) settleReservations() error {
	if r.vo.Reserved == 0 || r.devices == 0 || r.dry {
		return nil
	}
	return r.s.settleReservations(r.tx, r.vo.ID, r.sale.ID, r.lines, r.left.Devices-r.devices, r.now)
}

// countFigures adds the sale to the network's figures: its takings, the
// people and vouchers served, a voucher's first use, and where vouchers
// issued are used; and sets the voucher's status after the sale.
func (r *saleRun) countFigures() error {
	if r.free() {
		r.total = 0 // a free sale is recorded at its value in the lines, with nothing taken
	}
	r.fig.Add(r.localDate, r.site.ID, figures.Sales, r.req.PaymentMethod, 1, r.total)
	figures.Served(&r.fig, r.localDate, r.vo.LastPerson, r.vo.LastVoucher)
	if r.vo.LastUsedAt == nil {
		figures.FirstUse(&r.fig, r.localDate, r.now, r.vo.OrganizationID, r.vo.CreatedAt, r.vo.ValidUntil)
	}
	if r.vo.Here == 0 {
		r.fig.Add(r.vo.CreatedAt.In(r.site.Location()).Format(time.DateOnly), r.site.ID, figures.IssuedUsedHere, "", 1, 0)
	}
	r.status = StatusActive
	if r.left.Devices-r.devices == 0 && r.left.Recharges-r.recharges == 0 {
		r.status = StatusUsed
	}
	return nil
}

// writeLast sends the last writes together (one statement on PostgreSQL):
// the lines, the voucher's entitlements consumed by a conditional update
// (the last word when two sales on one voucher race), the total, the
// handover, the person's activity, the audit, the figures (appended to the
// deltas on PostgreSQL, so that no two sales wait on one figure's row),
// the idempotency key's sale, and the sale's entry in its site's journal,
// whose chain is taken last so that the site's next sale waits only for
// these writes.
func (r *saleRun) writeLast() error {
	var b database.Batch
	lineArgs := make([]any, 0, 8*len(r.lines))
	for _, l := range r.lines {
		lineArgs = append(lineArgs, l.SaleID, l.Kind, l.DeviceID, l.ProductID, l.RechargeUnitID, l.Description, l.PriceCents, l.FaceValueCents)
	}
	wLines := -1
	if len(r.lines) > 0 { // a sale of accessories alone has none
		wLines = b.Add(`INSERT INTO sale_lines (sale_id, kind, device_id, product_id, recharge_unit_id, description, price_cents, face_value_cents) VALUES `+
			database.Values(len(r.lines), 8), "id", lineArgs...)
	}
	wVoucher := b.Add(`UPDATE vouchers SET devices_used = devices_used + ?, recharges_used = recharges_used + ?, status = ?, last_used_at = ?
		WHERE id = ? AND status = ? AND devices_used + ? <= devices_allowed AND recharges_used + ? <= recharges_allowed`, "0",
		r.devices, r.recharges, r.status, r.now, r.vo.ID, StatusActive, r.devices, r.recharges)
	b.Add(`UPDATE sales SET total_cents = ? WHERE id = ?`, "0", r.total, r.sale.ID)
	if h := r.req.Handover; h != nil && r.devices > 0 {
		b.Add(`INSERT INTO sale_handovers (sale_id, conditions, on_paper, signature_png, created_at) VALUES (?, ?, ?, ?, ?)`, "0",
			r.sale.ID, r.head.HandoverText, h.OnPaper, nilIfEmpty(h.png), r.now)
	}
	b.Add(`UPDATE beneficiaries SET last_activity_at = ? WHERE id = ?`, "0", r.now, r.vo.BeneficiaryID)
	aq, aargs, err := audit.Statement(r.ctx, "sale.create", "sale", r.sale.ID, map[string]any{"voucher_id": r.vo.ID, "total_cents": r.total,
		"devices": r.devices, "recharges": r.recharges})
	if err != nil {
		return err
	}
	b.Add(aq, "0", aargs...)
	if err := r.fig.AddTo(&b, r.tx); err != nil {
		return err
	}
	if r.key != "" {
		b.Add(`UPDATE idempotency_keys SET sale_id = ? WHERE user_id = ? AND key = ?`, "0", r.sale.ID, r.c.UserID, r.key)
	}
	r.sale.TotalCents = r.total
	record, ref := newSaleRecord(r.sale, r.lines, r.accLines), strconv.FormatInt(r.sale.ID, 10)
	entry, err := journal.Last(r.tx, &b, r.site.ID, journal.Sale, ref, record, r.now)
	if err != nil {
		return err
	}
	done, err := b.Run(r.tx)
	if err != nil {
		return fmt.Errorf("record sale %d: %w", r.sale.ID, err)
	}
	if err := entry.Done(r.tx, done); err != nil {
		return err
	}
	if done.Rows(wVoucher) != 1 {
		return apperr.Conflict("entitlement-exhausted", "voucher %s was used meanwhile", FormatCode(r.code))
	}
	if wLines >= 0 && done.Rows(wLines) != len(r.lines) {
		return fmt.Errorf("sale %d: %d lines written of %d", r.sale.ID, done.Rows(wLines), len(r.lines))
	}
	for i := range r.lines {
		r.lines[i].ID = done[wLines][i] // ids come in the order the lines were listed
	}
	return nil
}

// view is the sale's answer: its lines (with their ids once written), its
// total and what the voucher allows after it.
func (r *saleRun) view() SaleView {
	view := SaleView{Sale: r.sale}
	for i := range r.lines {
		r.items[i].SaleLine = r.lines[i]
		view.Items = append(view.Items, r.items[i])
	}
	for _, l := range r.accLines {
		view.Items = append(view.Items, SaleItemView{SaleLine: l})
	}
	view.TotalCents = r.total
	v := r.vo.Voucher
	v.DevicesUsed += r.devices
	v.RechargesUsed += r.recharges
	v.Status = r.status
	view.Voucher = SaleVoucher{Code: FormatCode(v.Code), Status: v.StatusAt(r.now), Remaining: v.Remaining()}
	return view
}
