package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

type transfersView struct {
	web.Page
	Transfers []inventory.Transfer
	Sites     map[int64]string
	Status    string
	Statuses  []string
	Next      string
}

func (p *Inventory) transfers(c *gin.Context, caller partners.Caller) error {
	v := &transfersView{Status: c.Query("statut"), Statuses: []string{inventory.TransferDraft, inventory.TransferShipped, inventory.TransferReceived, inventory.TransferCancelled}}
	pg, err := pageList(c, 100)
	if err != nil {
		return err
	}
	l, err := p.Service.ListTransfers(c.Request.Context(), caller, v.Status, pg)
	if err != nil {
		return err
	}
	v.Transfers, v.Next = l.Items, nextLink("/transferts", c.Request.URL.Query(), l.NextCursor)
	slices.Reverse(v.Transfers)
	v.Sites, _, err = p.siteNames(c, caller, partners.KindWarehouse, partners.KindSpace)
	return p.show(c, "transfers", v, err)
}

// draftView is a transfer being made: where it goes and what was scanned.
type draftView struct {
	web.Page
	formView
	From     int64
	FromName string
	Froms    []partners.Organization
	Dests    []partners.Organization
	Devices  []inventory.Device
	Products []recharges.StockLine
	// Accessories are the origin's accessories in stock.
	Accessories []accessoryStock
	ScanError   string
	Added       string
}

func (p *Inventory) newTransfer(c *gin.Context, caller partners.Caller) error {
	v := &draftView{}
	v.Form = url.Values{}
	return p.show(c, "transfer_new", v, p.draftPage(c, caller, v))
}

// staffSite is the site a staff page works at: the caller's own, else the
// one asked for (0 when none is); and the sites staff may pick from.
func (p *Inventory) staffSite(c *gin.Context, caller partners.Caller, asked string) (int64, []partners.Organization, error) {
	if err := caller.Require(inventory.StaffRoles...); err != nil {
		return 0, nil, err
	}
	_, sites, err := p.siteNames(c, caller, partners.KindWarehouse, partners.KindSpace)
	if err != nil {
		return 0, nil, err
	}
	if own, ok := caller.SiteID(); ok {
		return own, sites, nil
	}
	id, _ := strconv.ParseInt(asked, 10, 64) // not a number: none asked
	return id, sites, nil
}

// draftPage fills the sites and the recharge stock of the origin.
func (p *Inventory) draftPage(c *gin.Context, caller partners.Caller, v *draftView) error {
	from, sites, err := p.staffSite(c, caller, v.Form.Get("from_site_id"))
	if err != nil {
		return err
	}
	v.From = from
	if v.From == 0 && caller.IsAdmin() {
		for _, s := range sites {
			if s.Kind == partners.KindWarehouse {
				v.From = s.ID
				break
			}
		}
	}
	for _, s := range sites {
		if s.ID == v.From {
			v.FromName = s.Name
		} else {
			v.Dests = append(v.Dests, s)
		}
		if caller.IsAdmin() {
			v.Froms = append(v.Froms, s)
		}
	}
	if v.From != 0 {
		stock, err := p.Recharges.Stock(c.Request.Context(), caller, v.From, false)
		if err != nil {
			return err
		}
		for _, l := range stock {
			if l.Available > 0 {
				v.Products = append(v.Products, l)
			}
		}
		list, have, err := p.shelvedAccessories(c, caller, v.From)
		if err != nil {
			return err
		}
		for _, a := range list {
			if st := have[a.ID]; st.Available > 0 {
				v.Accessories = append(v.Accessories, accessoryStock{ID: a.ID, Name: a.Name, Available: st.Available})
			}
		}
	}
	return nil
}

// accessoryStock is an accessory a site has, for a transfer's form.
type accessoryStock struct {
	ID        int64
	Name      string
	Available int
}

// draftTransfer takes a scan into the draft, takes a device out of it, or
// creates the transfer.
func (p *Inventory) draftTransfer(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	v := &draftView{}
	v.Form = f
	if err := p.draftPage(c, caller, v); err != nil {
		return err
	}
	l := p.lang(c)
	ctx := c.Request.Context()
	to, _ := strconv.ParseInt(f.Get("to_site_id"), 10, 64)
	tags := f["tag"]
	status := http.StatusOK
	switch {
	case f.Get("remove") != "":
		tags = slices.DeleteFunc(tags, func(t string) bool { return t == f.Get("remove") })
	case f.Get("op") == "create":
		return p.createTransfer(c, caller, v, tags, to)
	default:
		code := strings.TrimSpace(f.Get("code"))
		if code == "" {
			break
		}
		d, err := p.Service.CheckTravel(ctx, caller, v.From, to, code)
		switch {
		case err == nil && slices.Contains(tags, d.Tag):
			v.ScanError = l.T("%s is already on this transfer.", d.Tag)
		case err == nil:
			tags = append(tags, d.Tag)
			v.Added = l.T("%s added.", d.Tag)
		case errors.Is(err, apperr.ErrNotFound):
			status, v.ScanError = http.StatusUnprocessableEntity, l.T("No device has the code %s here.", code)
		case errorsIsConflict(err):
			status, v.ScanError = http.StatusUnprocessableEntity, web.Say(l, err)
		default:
			return err
		}
	}
	for _, t := range tags {
		if d, err := p.Service.FindByCode(ctx, caller, t); err == nil {
			v.Devices = append(v.Devices, d)
		}
	}
	p.Site.Render(c, status, "transfer_new", v)
	return nil
}

func (p *Inventory) createTransfer(c *gin.Context, caller partners.Caller, v *draftView, tags []string, to int64) error {
	ctx := c.Request.Context()
	f := v.Form
	in := inventory.NewTransfer{FromSiteID: v.From, ToSiteID: to}
	note := f.Get("note")
	in.Note = &note
	for _, t := range tags {
		d, err := p.Service.FindByCode(ctx, caller, t)
		if err != nil {
			return err
		}
		in.DeviceIDs = append(in.DeviceIDs, d.ID)
		v.Devices = append(v.Devices, d)
	}
	verr := &apperr.ValidationError{}
	for _, pr := range v.Products {
		s := strings.TrimSpace(f.Get("qty_" + strconv.FormatInt(pr.ProductID, 10)))
		if s == "" || s == "0" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			verr.Field("qty_"+strconv.FormatInt(pr.ProductID, 10), "a whole number is expected")
			continue
		}
		in.Recharges = append(in.Recharges, inventory.RechargeLine{ProductID: pr.ProductID, Quantity: n})
	}
	for _, a := range v.Accessories {
		name := "acc_" + strconv.FormatInt(a.ID, 10)
		s := strings.TrimSpace(f.Get(name))
		if s == "" || s == "0" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			verr.Field(name, "a whole number is expected")
			continue
		}
		in.Accessories = append(in.Accessories, inventory.AccessoryLine{AccessoryID: a.ID, Quantity: n})
	}
	err := once(p.Site, c, "Transfer drafted: check it, print the manifest and ship it.", func() (string, error) {
		if err := verr.Err(); err != nil {
			return "", err
		}
		t, err := p.Service.CreateTransfer(ctx, caller, in)
		return "/transferts/" + strconv.FormatInt(t.ID, 10), err
	})
	if err != nil {
		return reshow(p.Site, c, "transfer_new", v, err)
	}
	return nil
}

func errorsIsConflict(err error) bool { return errors.Is(err, apperr.ErrConflict) }

type transferView struct {
	web.Page
	Transfer inventory.TransferView
	Sites    map[int64]string
	Products map[int64]string
	CanShip  bool
	// CanReceive: the transfer is on its way to the caller's site.
	CanReceive bool
}

func (p *Inventory) transfer(c *gin.Context, caller partners.Caller, id int64) error {
	t, err := p.Service.GetTransfer(c.Request.Context(), caller, id)
	if err != nil {
		return err
	}
	v := &transferView{Transfer: t, Products: map[int64]string{}}
	if v.Sites, _, err = p.siteNames(c, caller, partners.KindWarehouse, partners.KindSpace); err != nil {
		return err
	}
	for _, r := range v.Transfer.Recharges {
		if pr, perr := p.Recharges.FindProduct(c.Request.Context(), r.ProductID); perr == nil {
			v.Products[r.ProductID] = pr.Name
		}
	}
	v.CanShip = v.Transfer.Status == inventory.TransferDraft && caller.CheckSite(v.Transfer.FromSiteID) == nil
	// A reception with something missing stays open to what arrives later.
	late := v.Transfer.Status == inventory.TransferReceived && (len(v.Transfer.Missing) > 0 || len(v.Transfer.MissingRecharges) > 0 || len(v.Transfer.MissingAccessories) > 0)
	v.CanReceive = (v.Transfer.Status == inventory.TransferShipped || late) && caller.CheckSite(v.Transfer.ToSiteID) == nil
	p.Site.Render(c, http.StatusOK, "transfer", v)
	return nil
}

func (p *Inventory) shipTransfer(c *gin.Context, caller partners.Caller, id int64) error {
	return p.transferStep(c, caller, id, p.Service.ShipTransfer, "Transfer shipped: its devices are in transit.")
}

func (p *Inventory) cancelTransfer(c *gin.Context, caller partners.Caller, id int64) error {
	return p.transferStep(c, caller, id, p.Service.CancelTransfer, "Transfer cancelled: its devices are back in stock.")
}

func (p *Inventory) transferStep(c *gin.Context, caller partners.Caller, id int64, step func(ctx context.Context, c partners.Caller, id int64) (inventory.TransferView, error), done string) error {
	back := "/transferts/" + strconv.FormatInt(id, 10)
	err := once(p.Site, c, done, func() (string, error) {
		_, err := step(c.Request.Context(), caller, id)
		return back, err
	})
	if err != nil {
		if errorsIsConflict(err) {
			web.Flash(c, web.Say(p.lang(c), err), true)
			c.Redirect(http.StatusSeeOther, back)
			return nil
		}

		return err
	}
	return nil
}

func (p *Inventory) manifest(c *gin.Context, caller partners.Caller, id int64) error {
	b, err := p.Service.Manifest(c.Request.Context(), caller, id)
	return p.pdf(c, "bordereau-transfert-"+strconv.FormatInt(id, 10)+".pdf", b, err)
}

type stockCheckView struct {
	web.Page
	SiteID    int64
	SiteName  string
	Sites     []partners.Organization
	Codes     []string
	Expected  int64
	ScanError string
	Added     string
	// Accessories are the counts typed (or scanned) for each accessory.
	Accessories []shelfCount
}

// shelfCount is an accessory's count on the stock check's page: what was
// typed, blank when it is not counted this time.
type shelfCount struct {
	ID      int64
	Name    string
	Barcode string
	Value   string
	Error   string
}

// stockCheck is a shelf being scanned: the codes so far and the count the
// records expect.
func (p *Inventory) stockCheck(c *gin.Context, caller partners.Caller) error {
	v := &stockCheckView{}
	return p.show(c, "stockcheck", v, p.stockCheckPage(c, caller, v, c.Query("site")))
}

func (p *Inventory) stockCheckPage(c *gin.Context, caller partners.Caller, v *stockCheckView, site string) error {
	id, sites, err := p.staffSite(c, caller, site)
	if err != nil {
		return err
	}
	v.SiteID = id
	if _, own := caller.SiteID(); !own {
		v.Sites = sites
		if v.SiteID == 0 && len(sites) > 0 {
			v.SiteID = sites[0].ID
		}
	}
	for _, s := range sites {
		if s.ID == v.SiteID {
			v.SiteName = s.Name
		}
	}
	if v.SiteID == 0 {
		return nil
	}
	if v.Expected, err = p.Service.OnShelfCount(c.Request.Context(), caller, v.SiteID); err != nil {
		return err
	}
	if p.Accessories == nil {
		return nil
	}
	list, err := p.Accessories.List(c.Request.Context(), caller)
	if err != nil {
		return err
	}
	for _, a := range list {
		if a.Active {
			row := shelfCount{ID: a.ID, Name: a.Name}
			if a.Barcode != nil {
				row.Barcode = *a.Barcode
			}
			v.Accessories = append(v.Accessories, row)
		}
	}
	return nil
}

// readCounts takes the accessories' counts from the form. A scan that
// landed in a count field (its digits, then a code) is split off and
// returned, so that it is taken as a scan; a count that is not a number
// is refused at its field, kept as typed.
func readCounts(l i18n.Lang, f url.Values, v *stockCheckView) (counted []accessories.Quantity, scanned string, ok bool) {
	ok = true
	for i := range v.Accessories {
		a := &v.Accessories[i]
		a.Value = strings.TrimSpace(f.Get("acc-" + strconv.FormatInt(a.ID, 10)))
		if a.Value == "" {
			continue
		}
		k := strings.IndexFunc(a.Value, func(r rune) bool { return r < '0' || r > '9' })
		switch {
		case scanned != "":
		case k >= 0 && len(a.Value)-k >= 5:
			// Digits then a code: a count, then a device scanned into it.
			scanned, a.Value = a.Value[k:], a.Value[:k]
		case k < 0:
			for _, b := range v.Accessories {
				if b.Barcode != "" && len(a.Value) >= len(b.Barcode) && strings.HasSuffix(a.Value, b.Barcode) {
					// A box's barcode scanned into a count.
					scanned, a.Value = b.Barcode, strings.TrimSuffix(a.Value, b.Barcode)
				}
			}
		}
		if a.Value == "" {
			continue
		}
		n, err := strconv.Atoi(a.Value)
		if err != nil || n < 0 || n > 100_000 {
			a.Error, ok = l.T("Type the number of %s on the shelves (0 if none), or leave it blank if you did not count them.", a.Name), false
			continue
		}
		counted = append(counted, accessories.Quantity{AccessoryID: a.ID, Quantity: n})
	}
	return counted, scanned, ok
}

// scanShelf adds a scanned code to the shelf's list, takes one out, or
// finishes the check.
func (p *Inventory) scanShelf(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	v := &stockCheckView{}
	if err := p.stockCheckPage(c, caller, v, f.Get("site")); err != nil {
		return err
	}
	l := p.lang(c)
	v.Codes = f["scanned"]
	counted, fromCount, countsOK := readCounts(l, f, v)
	code := inventory.NormalizeCode(f.Get("code"))
	if code == "" {
		code = inventory.NormalizeCode(fromCount)
	}
	switch {
	case code != "" || !countsOK:
		// A scan, even one that came with the finish: taken first, and
		// the check is not finished behind the volunteer's back.
	case f.Get("op") == "finish":
		err := once(p.Site, c, "Stock check recorded.", func() (string, error) {
			sc, err := p.Service.CheckStock(c.Request.Context(), caller, v.SiteID, v.Codes, counted...)
			return "/inventaire/" + strconv.FormatInt(v.SiteID, 10) + "/" + strconv.FormatInt(sc.ID, 10), err
		})
		if err != nil {
			if _, _, ok := web.FieldErrors(l, err); ok || errorsIsConflict(err) {
				v.ScanError = web.Say(l, err)
				p.Site.Render(c, http.StatusUnprocessableEntity, "stockcheck", v)
				return nil
			}

			return err
		}
		return nil
	case f.Get("remove") != "":
		v.Codes = slices.DeleteFunc(v.Codes, func(s string) bool { return s == f.Get("remove") })
	}
	if code != "" {
		i := slices.IndexFunc(v.Accessories, func(a shelfCount) bool { return a.Barcode != "" && inventory.NormalizeCode(a.Barcode) == code })
		switch {
		case i >= 0:
			// An accessory's box: one more counted.
			n, _ := strconv.Atoi(v.Accessories[i].Value)
			v.Accessories[i].Value = strconv.Itoa(n + 1)
			v.Added = v.Accessories[i].Name
		case slices.Contains(v.Codes, code):
			v.ScanError = l.T("%s was already scanned.", code)
		case len(v.Codes) >= inventory.MaxStockCodes:
			v.ScanError = l.T("A stock check takes at most %d codes: finish this one and start another.", inventory.MaxStockCodes)
		default:
			v.Codes = append(v.Codes, code)
			v.Added = code
		}
	}
	status := http.StatusOK
	if !countsOK {
		status = http.StatusUnprocessableEntity
	}
	p.Site.Render(c, status, "stockcheck", v)
	return nil
}

type stockResultView struct {
	web.Page
	Check    inventory.StockCheck
	SiteName string
	Sites    map[int64]string
	CanLose  bool
	// Accessories are the counted accessories, each with its correction's
	// form; CanCorrect says the caller may correct this site's stock.
	Accessories []accessoryDifference
	CanCorrect  bool
}

// accessoryDifference is a counted accessory on the result's page.
type accessoryDifference struct {
	AccessoryID               int64
	Name                      string
	Expected, Counted, Change int
	Off                       int // how many a negative difference takes off the stock
	Corrected                 bool
	Reason, Error             string
}

func (p *Inventory) stockCheckResult(c *gin.Context, caller partners.Caller) error {
	v, err := p.stockResult(c, caller)
	if err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "stockcheck_result", v)
	return nil
}

func (p *Inventory) stockResult(c *gin.Context, caller partners.Caller) (*stockResultView, error) {
	site, err := httpx.PathID(c, "site")
	if err != nil {
		return nil, err
	}
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return nil, err
	}
	v := &stockResultView{CanLose: inventory.MayDo(caller, "mark_lost"), CanCorrect: caller.Is(inventory.StaffRoles...)}
	if v.Check, err = p.Service.GetStockCheck(c.Request.Context(), caller, site, id); err != nil {
		return nil, err
	}
	if v.Sites, _, err = p.siteNames(c, caller, partners.KindWarehouse, partners.KindSpace); err != nil {
		return nil, err
	}
	v.SiteName = v.Sites[site]
	l := p.lang(c)
	for _, d := range v.Check.Accessories {
		v.Accessories = append(v.Accessories, accessoryDifference{AccessoryID: d.AccessoryID, Name: d.Name, Expected: d.Expected, Counted: d.Counted,
			Change: d.Difference, Off: -d.Difference, Corrected: d.CorrectedBy != nil, Reason: l.T("Counted at the stock check")})
	}
	return v, nil
}

// correctFromCheck turns a difference the stock check found into a
// correction, with the reason typed; a refusal is said at its line.
func (p *Inventory) correctFromCheck(c *gin.Context, caller partners.Caller) error {
	v, err := p.stockResult(c, caller)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	l := p.lang(c)
	acc, _ := strconv.ParseInt(f.Get("accessory_id"), 10, 64)
	back := "/inventaire/" + strconv.FormatInt(v.Check.SiteID, 10) + "/" + strconv.FormatInt(v.Check.ID, 10)
	err = once(p.Site, c, "", func() (string, error) {
		m, err := p.Service.CorrectFromStockCheck(c.Request.Context(), caller, v.Check.SiteID, v.Check.ID, acc, f.Get("reason"))
		if err != nil {
			return "", err
		}
		web.Flash(c, l.T("Stock corrected: %d available now.", m.Available), false)
		return back, nil
	})
	if err != nil {
		if _, _, ok := web.FieldErrors(l, err); !ok && !errorsIsConflict(err) {
			return err
		}
		for i := range v.Accessories {
			if v.Accessories[i].AccessoryID == acc {
				v.Accessories[i].Reason, v.Accessories[i].Error = f.Get("reason"), web.Say(l, err)
			}
		}
		p.Site.Render(c, http.StatusUnprocessableEntity, "stockcheck_result", v)
		return nil
	}
	return nil
}
