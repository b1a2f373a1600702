package ui

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tremplin/tremplin/distribution"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/problem"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// counterRoles may sell at a counter page (an admin sells through the API,
// naming the site).
var counterRoles = []partners.Role{partners.RoleSpace}

type counterProduct struct {
	ID        int64
	Name      string
	Price     int64
	FaceValue int64
	Available int64
	InBasket  int
}

// counterView is the till: the voucher, the basket kept in the page, and
// the sale's own preview of it.
type counterView struct {
	web.Page
	Code     string
	Key      string
	Voucher  *distribution.VoucherView
	Problem  string // why the voucher cannot be used, in words
	Devices  []inventory.Device
	Products []counterProduct
	// Accessories are the site's accessories, each with its stock and how
	// many are in the basket (FaceValue unused).
	Accessories []counterProduct
	Preview     *distribution.SaleView
	// FaceValue is what the basket's recharges are worth; Saved what the
	// person does not pay of it.
	FaceValue int64
	Saved     int64
	Error     string
	Added     string
	Methods   []string
	// Closed says the day's till is closed: no sale until tomorrow.
	Closed string
	// Pickups are the devices set aside at this space, waiting for their
	// person (before a voucher is scanned); Reserved those set aside for
	// the voucher scanned and not in the basket yet.
	Pickups  []distribution.ReservationView
	Reserved []distribution.ReservationView
	// Handover is the network's setting (off, optional, required) and the
	// conditions the person reads before signing for a device; Signature
	// what was drawn, kept when a payment is refused.
	Handover     string
	HandoverText string
	Signature    string
	OnPaper      bool
}

func newSaleKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// counter is the space's home: scan a voucher to open a basket.
func (p *Distribution) counter(c *gin.Context, caller partners.Caller) error {
	v := &counterView{Methods: distribution.PaymentMethods}
	if err := p.closedToday(c, caller, v); err != nil {
		return err
	}
	if err := p.pickups(c, caller, v); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "counter", v)
	return nil
}

// pickups lists the devices set aside at the counter's space, soonest to
// end first.
func (p *Distribution) pickups(c *gin.Context, caller partners.Caller, v *counterView) error {
	site, ok := caller.SiteID()
	if !ok {
		return nil
	}
	var err error
	v.Pickups, err = p.Service.ListReservations(c.Request.Context(), caller, distribution.ReservationFilter{SiteID: site, Status: distribution.ReservationActive})
	for i := range v.Pickups {
		// A screen at a counter is seen by the queue: the code's end is
		// enough to tell two people of one first name apart.
		if code := v.Pickups[i].VoucherCode; len(code) > 4 {
			v.Pickups[i].VoucherCode = "…" + code[len(code)-4:]
		}
	}
	return err
}

// reservedFor lists what is set aside at this space for the voucher
// scanned and not in the basket yet: the counter offers it first.
func (p *Distribution) reservedFor(c *gin.Context, caller partners.Caller, site int64, v *counterView) error {
	if v.Voucher == nil || v.Code == "" {
		return nil
	}
	if v.Preview != nil && v.Preview.Read != nil && v.Preview.Read.Reserved == 0 {
		return nil // the basket's check counted none
	}
	list, err := p.Service.ListReservations(c.Request.Context(), caller, distribution.ReservationFilter{SiteID: site, VoucherID: v.Voucher.ID, Status: distribution.ReservationActive})
	if err != nil {
		return err
	}
	for _, r := range list {
		if !slices.ContainsFunc(v.Devices, func(d inventory.Device) bool { return d.ID == r.DeviceID }) {
			v.Reserved = append(v.Reserved, r)
		}
	}
	return nil
}

// closedToday says, as soon as the counter opens, that the day's till is
// closed: before, vouchers were taken and the refusal came at the first
// device scanned.
func (p *Distribution) closedToday(c *gin.Context, caller partners.Caller, v *counterView) error {
	closed, day, err := p.Service.TodayClosed(c.Request.Context(), caller)
	if err != nil || !closed {
		return err
	}
	l := p.Site.Lang(c)
	v.Closed = l.T("The till of %s is closed: no sale can be made until tomorrow. A refund of today is not possible either.", l.Date(day, day.Location()))
	return nil
}

// till takes what the counter's form sent: the voucher, a scanned device, a
// recharge added or taken out, or the payment.
func (p *Distribution) till(c *gin.Context, caller partners.Caller) error {
	site, _ := caller.SiteID()
	ctx := c.Request.Context()
	l := p.Site.Lang(c)
	f := c.Request.PostForm
	v := &counterView{Methods: distribution.PaymentMethods, Code: f.Get("voucher"), Key: f.Get("key")}
	status := http.StatusOK

	// Step 1: the voucher.
	if v.Code == "" {
		if err := p.closedToday(c, caller, v); err != nil {
			return err
		}
		if v.Closed != "" {
			p.Site.Render(c, http.StatusConflict, "counter", v)
			return nil
		}
		code := strings.TrimSpace(f.Get("code"))
		// A device or anything else that is not a voucher's code is said
		// for what it is and counts nothing toward the limit of unknown
		// codes: before, 21 device tags scanned first locked the counter.
		if said, err := p.notAVoucher(c, caller, code); err != nil {
			return err
		} else if said != "" {
			v.Error = said
			p.Site.Render(c, http.StatusUnprocessableEntity, "counter", v)
			return nil
		}
		vo, err := p.Service.LookupVoucher(ctx, caller, code)
		switch {
		case err == nil:
			v.Voucher = &vo
			if vo.Status == distribution.StatusActive {
				v.Code, v.Key = vo.Code, newSaleKey()
			} else {
				v.Problem = voucherProblem(l, vo, caller.Timezone)
			}
		case errors.Is(err, apperr.ErrInvalid):
			status, v.Error = http.StatusUnprocessableEntity, l.T("Code mistyped: check it with the person.")
		case errors.Is(err, apperr.ErrNotFound):
			status, v.Error = http.StatusNotFound, l.T("Unknown voucher.")
		default:
			return err
		}
		if v.Code != "" {
			if err := p.fillBasket(c, caller, site, v, nil, map[int64]int{}, map[int64]int{}); err != nil {
				return err
			}
		}
		if err := p.reservedFor(c, caller, site, v); err != nil {
			return err
		}
		if v.Voucher == nil {
			if err := p.pickups(c, caller, v); err != nil {
				return err
			}
		}
		p.Site.Render(c, status, "counter", v)
		return nil
	}

	// Step 2: the basket, as the page holds it. A basket whose sale is
	// already done (shown again by the back button) is that sale.
	// A payment that meets a database it cannot reach may have been made
	// by an earlier try whose answer was lost: the counter is told to check.
	paying := f.Get("pay") != ""
	lostPayment := func(err error) bool {
		if !paying || !problem.IsUnavailable(err) {
			return false
		}
		p.Site.Unavailable(c, l.T("The connection to the database was lost during the payment: the sale may have been recorded. Check today's sales before taking the money again; sending this basket again will not record it twice."), "/ventes")
		return true
	}
	if done, err := p.Service.SaleOfKey(ctx, caller, v.Key); err != nil {
		if lostPayment(err) {
			return nil
		}
		return err
	} else if done != 0 {
		web.Flash(c, l.T("This sale is already done: sale no. %d. For another sale, scan the next voucher.", done), false)
		c.Redirect(http.StatusSeeOther, "/ventes/"+strconv.FormatInt(done, 10))
		return nil
	}
	tags := f["device"]
	qty, acc := map[int64]int{}, map[int64]int{}
	for k, vals := range f {
		for prefix, into := range map[string]map[int64]int{"qty_": qty, "acc_": acc} {
			if id, ok := strings.CutPrefix(k, prefix); ok && len(vals) > 0 {
				pid, err1 := strconv.ParseInt(id, 10, 64)
				n, err2 := strconv.Atoi(vals[0])
				if err1 == nil && err2 == nil && n > 0 {
					into[pid] = n
				}
			}
		}
	}
	// try previews the basket with one more line; the accepted preview is
	// the one the page shows (not run again for the totals).
	try := func(tags []string, qty, acc map[int64]int) error {
		req, err := p.saleRequest(c, caller, site, v.Code, "cash", tags, qty, acc)
		if err != nil {
			return err
		}
		pv, err := p.Service.PreviewSale(ctx, caller, req)
		if err == nil {
			v.Preview = &pv
		}
		return err
	}
	switch {
	case f.Get("pay") != "":
		req, err := p.saleRequest(c, caller, site, v.Code, f.Get("pay"), tags, qty, acc)
		if sig, paper := f.Get("signature"), f.Get("on_paper") != ""; err == nil && len(tags) > 0 && (sig != "" || paper) {
			if paper {
				sig = "" // ticked: signed on paper, whatever was drawn
			}
			req.Handover = &distribution.Handover{SignaturePNG: sig, OnPaper: paper}
		}
		if err == nil {
			var sale distribution.SaleView
			if sale, _, err = p.Service.Sell(ctx, caller, v.Key, req); err == nil {
				c.Redirect(http.StatusSeeOther, "/ventes/"+strconv.FormatInt(sale.ID, 10))
				return nil
			}
		}
		if lostPayment(err) {
			return nil
		}
		if !saidToTheCounter(err) {
			return err
		}
		status, v.Error = http.StatusConflict, l.T("Not sold:")+" "+web.Say(l, err)
	case f.Get("remove") != "":
		tags = slices.DeleteFunc(tags, func(t string) bool { return t == f.Get("remove") })
	case f.Get("less") != "":
		if pid, err := strconv.ParseInt(f.Get("less"), 10, 64); err == nil && qty[pid] > 0 {
			qty[pid]--
		}
	case f.Get("lessacc") != "":
		if aid, err := strconv.ParseInt(f.Get("lessacc"), 10, 64); err == nil && acc[aid] > 0 {
			acc[aid]--
		}
	case f.Get("addacc") != "":
		aid, _ := strconv.ParseInt(f.Get("addacc"), 10, 64)
		more, ok, err := p.addAccessory(c, v, &status, tags, qty, acc, aid, try)
		if err != nil {
			return err
		}
		if ok {
			acc = more
		}
	case f.Get("add") != "":
		pid, _ := strconv.ParseInt(f.Get("add"), 10, 64)
		more := maps.Clone(qty)
		more[pid]++
		if err := try(tags, more, acc); err != nil {
			if !saidToTheCounter(err) {
				return err
			}
			status, v.Error = http.StatusConflict, web.Say(l, err)
		} else {
			qty = more
		}
	default:
		code := strings.TrimSpace(f.Get("code"))
		if code == "" {
			code = f.Get("take") // the device set aside, taken with its button
		}
		if code == "" {
			break
		}
		d, err := p.device(c, caller, code)
		if errors.Is(err, apperr.ErrNotFound) && p.Accessories != nil {
			// An accessory's box scanned: one more in the basket.
			if a, aerr := p.Accessories.ByBarcode(ctx, caller, code); aerr == nil {
				more, ok, err := p.addAccessory(c, v, &status, tags, qty, acc, a.ID, try)
				if err != nil {
					return err
				}
				if ok {
					acc, v.Added = more, a.Name
				}
				break
			}
		}
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			status, v.Error = http.StatusUnprocessableEntity, l.T("No device has the code %s here.", code)
		case err != nil:
			return err
		case slices.Contains(tags, d.Tag):
			v.Error = l.T("%s is already in the basket.", d.Tag)
		default:
			if err := try(append(slices.Clone(tags), d.Tag), qty, acc); err != nil {
				if !saidToTheCounter(err) {
					return err
				}
				status, v.Error = http.StatusConflict, l.T("%s cannot be sold to this voucher:", d.Tag)+" "+web.Say(l, err)
			} else {
				tags = append(tags, d.Tag)
				v.Added = d.Tag
			}
		}
	}
	// A basket this request checked shows its voucher by a plain read; any
	// other answer looks it up (counted against the limit, audited).
	var vo distribution.VoucherView
	var err error
	if v.Preview != nil {
		vo, err = p.Service.BasketVoucher(ctx, caller, v.Code)
	} else {
		vo, err = p.Service.LookupVoucher(ctx, caller, v.Code)
	}
	if err != nil {
		return err
	}
	v.Voucher = &vo
	if vo.Status != distribution.StatusActive {
		v.Problem = voucherProblem(l, vo, caller.Timezone)
	}
	if err := p.fillBasket(c, caller, site, v, tags, qty, acc); err != nil {
		return err
	}
	if err := p.reservedFor(c, caller, site, v); err != nil {
		return err
	}
	if len(v.Devices) > 0 {
		if r := v.Preview; r != nil && r.Read != nil {
			v.Handover, v.HandoverText = r.Read.Handover, r.Read.HandoverText
		} else {
			n, err := p.Partners.NetworkIdentity(ctx)
			if err != nil {
				return err
			}
			v.Handover, v.HandoverText = n.Handover, n.HandoverText
		}
		v.Signature, v.OnPaper = f.Get("signature"), f.Get("on_paper") != ""
	}
	p.Site.Render(c, status, "counter", v)
	return nil
}

// notAVoucher says what a code scanned where a voucher is expected is, when
// it is not a voucher's: a device (its tag, IMEI or serial, even a serial
// of twelve letters and digits that fails a voucher's check symbol), or
// anything that cannot be a voucher's code. Neither is looked up as a
// voucher nor counts toward the limit of unknown codes: before, 21 device
// tags scanned first locked the counter. "" is a code to look up.
func (p *Distribution) notAVoucher(c *gin.Context, caller partners.Caller, code string) (string, error) {
	if code == "" {
		return "", nil
	}
	shaped := distribution.VoucherShaped(code)
	if _, err := distribution.NormalizeCode(code); shaped && err == nil {
		return "", nil
	}
	l := p.Site.Lang(c)
	d, err := p.Inventory.FindByCode(c.Request.Context(), caller, code)
	switch {
	case err == nil:
		return l.T("%s is a device: scan the person's voucher first, then the device.", d.Tag), nil
	case !errors.Is(err, apperr.ErrNotFound) && !errors.Is(err, apperr.ErrForbidden): // a prescriber sees no device
		return "", err
	case !shaped:
		return l.T("“%s” is not a voucher's code: scan the voucher (three groups of four characters).", code), nil
	}
	return "", nil // a voucher's code mistyped: the lookup says so, and counts it
}

// saidToTheCounter tells the refusals a counter says and goes on from (the
// sale's 409s and its checks of the basket) from the failures shown as an
// error page.
func saidToTheCounter(err error) bool {
	return errors.Is(err, apperr.ErrConflict) || errors.Is(err, apperr.ErrInvalid) || errors.Is(err, apperr.ErrNotFound)
}

// saleRequest is the basket as the API's sale request. A device of the
// basket no longer found here is said, never dropped from the sale
// silently; a database that does not answer is its error.
func (p *Distribution) saleRequest(c *gin.Context, caller partners.Caller, site int64, code, method string, tags []string, qty, acc map[int64]int) (distribution.SaleRequest, error) {
	req := distribution.SaleRequest{SiteID: site, VoucherCode: code, PaymentMethod: method}
	for _, t := range tags {
		d, err := p.device(c, caller, t)
		if err != nil {
			if errors.Is(err, apperr.ErrNotFound) {
				return req, apperr.Conflict("not-here", "%s is no longer found at this site: take it out of the basket", t)
			}
			return req, err
		}
		req.Items = append(req.Items, distribution.SaleItem{DeviceID: d.ID})
	}
	for _, id := range slices.Sorted(maps.Keys(qty)) {
		req.Items = append(req.Items, distribution.SaleItem{ProductID: id, Quantity: qty[id]})
	}
	for _, id := range slices.Sorted(maps.Keys(acc)) {
		req.Items = append(req.Items, distribution.SaleItem{AccessoryID: id, Quantity: acc[id]})
	}
	return req, nil
}

// device finds a basket's device by its code, once per request: a scan
// names it, checks the basket with it and shows it (three lookups before).
func (p *Distribution) device(c *gin.Context, caller partners.Caller, code string) (inventory.Device, error) {
	seen, _ := c.Get("counter.devices")
	found, ok := seen.(map[string]inventory.Device)
	if !ok {
		found = map[string]inventory.Device{}
		c.Set("counter.devices", found)
	}
	if d, ok := found[code]; ok {
		return d, nil
	}
	d, err := p.Inventory.FindByCode(c.Request.Context(), caller, code)
	if err == nil {
		found[code], found[d.Tag] = d, d
	}
	return d, err
}

// addAccessory puts one more of an accessory in the basket when the sale's
// rules take it (its stock here); ok is false when it is refused, said in
// v; an error is the request's failure.
func (p *Distribution) addAccessory(c *gin.Context, v *counterView, status *int, tags []string, qty, acc map[int64]int, id int64,
	try func([]string, map[int64]int, map[int64]int) error) (map[int64]int, bool, error) {
	more := maps.Clone(acc)
	more[id]++
	if err := try(tags, qty, more); err != nil {
		if !saidToTheCounter(err) {
			return nil, false, err
		}
		*status, v.Error = http.StatusConflict, web.Say(p.Site.Lang(c), err)
		return nil, false, nil
	}
	return more, true, nil
}

// fillBasket loads the basket's devices, the products on the shelf, and
// the sale's preview for the totals.
func (p *Distribution) fillBasket(c *gin.Context, caller partners.Caller, site int64, v *counterView, tags []string, qty, acc map[int64]int) error {
	ctx := c.Request.Context()
	for _, t := range tags {
		d, err := p.device(c, caller, t)
		if err != nil {
			return err
		}
		v.Devices = append(v.Devices, d)
	}
	// The cards sellable here today, never the site's history of cards.
	shelf, err := p.Recharges.Counter(ctx, caller, site)
	if err != nil {
		return err
	}
	for _, pr := range shelf {
		if pr.Available == 0 && qty[pr.ID] == 0 {
			continue
		}
		v.Products = append(v.Products, counterProduct{ID: pr.ID, Name: pr.Name, Price: pr.PriceCents, FaceValue: pr.FaceValueCents,
			Available: pr.Available, InBasket: qty[pr.ID]})
		v.FaceValue += int64(qty[pr.ID]) * pr.FaceValueCents
	}
	if p.Accessories != nil {
		shelf, err := p.Accessories.Shelf(ctx, caller, site)
		if err != nil {
			return err
		}
		for _, a := range shelf {
			if (!a.Active || a.Available == 0) && acc[a.ID] == 0 {
				continue
			}
			v.Accessories = append(v.Accessories, counterProduct{ID: a.ID, Name: a.Name, Price: a.PriceCents, Available: int64(a.Available), InBasket: acc[a.ID]})
		}
	}
	if len(tags) == 0 && len(qty) == 0 && len(acc) == 0 {
		v.Preview = nil
		return nil
	}
	if v.Preview == nil {
		req, err := p.saleRequest(c, caller, site, v.Code, "cash", tags, qty, acc)
		if err != nil {
			if !saidToTheCounter(err) {
				return err
			}
			if v.Error == "" {
				v.Error = web.Say(p.Site.Lang(c), err)
			}
			return nil
		}
		pv, err := p.Service.PreviewSale(ctx, caller, req)
		if err != nil && !saidToTheCounter(err) {
			return err
		}
		if err == nil {
			v.Preview = &pv
		}
	}
	if v.Preview != nil {
		var paidRecharges int64
		for _, it := range v.Preview.Items {
			if it.Kind == "recharge" {
				paidRecharges += it.PriceCents
			}
		}
		v.Saved = v.FaceValue - paidRecharges
	}
	return nil
}

// voucherProblem says why a voucher cannot be used, and since when (in
// the site's zone).
func voucherProblem(l i18n.Lang, vo distribution.VoucherView, tz string) string {
	loc := zone.Or(tz, time.UTC)
	day := func(t *time.Time) string {
		if t == nil {
			return "?"
		}
		return l.Date(*t, loc)
	}
	switch vo.Status {
	case distribution.StatusExpired:
		return l.T("This voucher expired on %s.", l.ISODate(vo.ValidUntil))
	case distribution.StatusUsed:
		return l.T("This voucher was used up (last used on %s).", day(vo.LastUsedAt))
	case distribution.StatusRevoked:
		return l.T("This voucher was revoked on %s.", day(vo.RevokedAt))
	}
	return ""
}

type saleView struct {
	web.Page
	Sale distribution.SaleView
	// Format is the site's receipt printer, first of the print buttons.
	Format string
	// Refunds are the sale's refunds; Refunded their total, handed back;
	// Refundable whether a device of the sale may still be brought back.
	Refunds    []distribution.RefundView
	Refunded   int64
	Refundable bool
	// A refused refund: why, and what was typed and ticked, kept.
	Error   string
	Reason  string
	Checked map[int64]bool
	// DevicesBack says a device may still come back; AccessoriesBack are
	// the accessories that may, with what was typed.
	DevicesBack     bool
	AccessoriesBack []accessoryBack
}

// accessoryBack is an accessory of the sale that may still be brought
// back: at most Left.
type accessoryBack struct {
	ID          int64
	Description string
	Left        int
	Value       string
}

// sale is a sale's page: what was sold, the receipt to print, the next
// sale.
func (p *Distribution) sale(c *gin.Context, caller partners.Caller) error {
	v := &saleView{}
	if err := p.saleData(c, caller, v); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "sale", v)
	return nil
}

// saleData is the sale of the page's address with its refunds.
func (p *Distribution) saleData(c *gin.Context, caller partners.Caller, v *saleView) error {
	ctx := c.Request.Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return apperr.ErrNotFound
	}
	if v.Sale, err = p.Service.GetSale(ctx, caller, id); err != nil {
		return err
	}
	site, err := p.Partners.GetOrganization(ctx, caller, v.Sale.SiteID)
	if err != nil {
		return err
	}
	v.Format = site.ReceiptFormat
	if v.Refunds, err = p.Service.SaleRefunds(ctx, caller, id); err != nil {
		return err
	}
	for _, r := range v.Refunds {
		v.Refunded += r.AmountCents
	}
	for _, it := range v.Sale.Items {
		switch {
		case it.DeviceID != nil && it.RefundID == nil:
			v.Refundable, v.DevicesBack = true, true
		case it.AccessoryID != nil && it.Quantity > it.Refunded:
			v.Refundable = true
			v.AccessoriesBack = append(v.AccessoriesBack, accessoryBack{ID: *it.AccessoryID, Description: it.Description, Left: it.Quantity - it.Refunded})
		}
	}
	return nil
}

func (p *Distribution) receipt(c *gin.Context, caller partners.Caller, id int64) error {
	b, err := p.Service.Receipt(c.Request.Context(), caller, id, c.Query("format"))
	if err != nil {
		return err
	}
	httpx.SendFile(c, "ticket.pdf", "application/pdf", b, true)
	return nil
}
