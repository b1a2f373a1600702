package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/distribution"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Distribution is the web UI of prescribers (issue, follow, revoke, renew,
// print) and of the counter (check a voucher).
type Distribution struct {
	Service *distribution.Service
	// The services the pages read beside the distribution's own (the
	// counter's devices, cards, accessories, the space's settings).
	Partners    *partners.Service
	Inventory   *inventory.Service
	Recharges   *recharges.Service
	Accessories *accessories.Service // nil: no accessories sold
	// Site renders pages and errors; Session guards them (partners'
	// RequireSession).
	Site    *web.Site
	Session gin.HandlerFunc
	// AnonymiseAfter is the period without activity after which a
	// person's names are erased ("24mo"), said on their page.
	AnonymiseAfter string
}

// Routes mounts the pages.
func (p *Distribution) Routes(r gin.IRouter) {
	g := r.Group("", p.Session)
	g.GET("/bons", withCaller(p.list))
	g.GET("/bons/nouveau", api.Allow(distribution.IssuerRoles...), withCaller(p.form))
	g.POST("/bons", api.Allow(distribution.IssuerRoles...), withCaller(p.create))
	g.GET("/bons/:code", withCaller(p.show))
	g.GET("/bons/:code/bon.pdf", withCaller(p.pdf))
	g.POST("/bons/:code/revoquer", withCaller(p.revoke))
	g.POST("/bons/:code/renouveler", withCaller(p.renew))
	g.POST("/bons/:code/reserver", withCaller(p.reserve))
	g.POST("/bons/:code/annuler-reservation", withCaller(p.cancelReservation))
	g.GET("/personnes", withCaller(p.people))
	g.GET("/personnes/:id", withRecord(p.person))
	g.GET("/personnes/:id/export.json", withRecord(p.export))
	g.GET("/verifier", withCaller(p.verify))
	g.GET("/ventes/:id", withCaller(p.sale))
	g.GET("/ventes/:id/ticket.pdf", withRecord(p.receipt))
	till := g.Group("", api.Allow(counterRoles...))
	till.GET("/caisse", withCaller(p.counter))
	till.POST("/caisse", withCaller(p.till))
	till.GET("/ventes", withCaller(p.sales))
	till.POST("/ventes/:id/rembourser", withRecord(p.refund))
	till.GET("/cloture", withCaller(p.closingPage))
	till.POST("/cloture", withCaller(p.recordClosing))
	till.POST("/cloture/imprimante", withCaller(p.receiptFormat))
}

// Menu is what the voucher pages offer a caller, from the services' role
// lists.
func (p *Distribution) Menu(c partners.Caller) []web.Link {
	var out []web.Link
	if c.Is(counterRoles...) {
		out = append(out, web.Link{ID: "counter", Label: "Counter", Href: "/caisse", Primary: true},
			web.Link{ID: "sales", Label: "Today's sales", Href: "/ventes"},
			web.Link{ID: "closing", Label: "Closing", Href: "/cloture"})
	}
	if c.Is(distribution.IssuerRoles...) {
		out = append(out, web.Link{ID: "new-voucher", Label: "New voucher", Href: "/bons/nouveau", Primary: true})
	}
	if c.Is(distribution.PrescriberRoles...) {
		out = append(out, web.Link{ID: "vouchers", Label: "Vouchers issued", Href: "/bons"},
			web.Link{ID: "people", Label: "People", Href: "/personnes"})
	}
	if c.Is(distribution.LookupRoles...) {
		out = append(out, web.Link{ID: "check-voucher", Label: "Check a voucher", Href: "/verifier"})
	}
	return out
}

// categoryChoices are the categories a voucher may allow, in the order
// people see them (their labels are in the catalogue, "category.*").
var categoryChoices = []string{"smartphone", "feature_phone", "laptop", "tablet", "desktop", "other"}

var statusChoices = []string{distribution.StatusActive, distribution.StatusUsed, distribution.StatusExpired, distribution.StatusRevoked}

type pageData struct {
	web.Page
	Vouchers   []distribution.VoucherView
	Voucher    *distribution.VoucherView
	Categories []string
	Statuses   []string
	Form       url.Values
	Errors     []string
	Code       string
	Status     string // the list's status filter
	Q          string // the list's search
	Next       string // the next page of a list, when there is one
	CanIssue   bool   // the caller may issue a voucher (issuerRoles)
	// FieldErrors says, by field name, what is wrong with it, in French.
	FieldErrors map[string]string
	// Where the voucher's devices are (a voucher's page): the spaces with
	// their counts of the voucher's categories, its reservations, whether
	// another may be made, and why the last one was refused.
	Spaces       []spaceChoice
	Reservations []distribution.ReservationView
	CanReserve   bool
	ReserveError string
	// Told says a reservation will be sent to the person by message.
	Told bool
}

// spaceChoice is a space on a voucher's page, with the voucher's
// categories it has free.
type spaceChoice struct {
	distribution.Space
	Free []categoryCount
}

type categoryCount struct {
	Category string
	N        int64
}

// data is what every voucher page shows the caller.
func data(caller partners.Caller) pageData {
	return pageData{Categories: categoryChoices, Statuses: statusChoices, CanIssue: caller.Is(distribution.IssuerRoles...)}
}

func (p *Distribution) list(c *gin.Context, caller partners.Caller) error {
	d := data(caller)
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	d.Status, d.Q = c.Query("statut"), strings.TrimSpace(c.Query("q"))
	l, err := p.Service.ListVouchers(c.Request.Context(), caller, distribution.VoucherFilter{Status: d.Status, Q: d.Q}, page)
	if err != nil {
		return err
	}
	d.Vouchers = l.Items
	if l.NextCursor != nil {
		// The list goes on: a link to the next page, same filter.
		q := url.Values{"cursor": {*l.NextCursor}}
		if d.Status != "" {
			q.Set("statut", d.Status)
		}
		if d.Q != "" {
			q.Set("q", d.Q)
		}
		d.Next = "/bons?" + q.Encode()
	}
	p.Site.Render(c, http.StatusOK, "vouchers", &d)
	return nil
}

func (p *Distribution) show(c *gin.Context, caller partners.Caller) error {
	d := data(caller)
	if err := p.voucherPage(c, caller, &d); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "voucher", &d)
	return nil
}

// voucherPage reads the voucher of the address with where its devices
// can be found and what is set aside for it.
func (p *Distribution) voucherPage(c *gin.Context, caller partners.Caller, d *pageData) error {
	ctx := c.Request.Context()
	view, err := p.Service.GetVoucher(ctx, caller, c.Param("code"))
	if err != nil {
		return err
	}
	d.Voucher = &view
	if d.Reservations, err = p.Service.ListReservations(ctx, caller, distribution.ReservationFilter{VoucherID: view.ID}); err != nil {
		return err
	}
	held := 0
	for _, r := range d.Reservations {
		if r.Status == distribution.ReservationActive {
			held++
		}
	}
	if view.Status != distribution.StatusActive || view.Remaining.Devices == 0 || len(view.DeviceCategories) == 0 {
		return nil
	}
	d.CanReserve = view.Remaining.Devices > held
	d.Told = d.CanReserve && p.Service.Reachable(ctx, caller, view.BeneficiaryID)
	spaces, err := p.Service.Availability(ctx, caller, "")
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		sc := spaceChoice{Space: sp}
		for _, cat := range view.DeviceCategories {
			sc.Free = append(sc.Free, categoryCount{Category: cat, N: sp.Devices[cat]})
		}
		d.Spaces = append(d.Spaces, sc)
	}
	return nil
}

// reserve sets a device aside for the voucher of the address, at the
// space and of the category chosen; a refusal is said on the voucher's
// page.
func (p *Distribution) reserve(c *gin.Context, caller partners.Caller) error {
	d := data(caller)
	l := p.Site.Lang(c)
	site, _ := strconv.ParseInt(c.PostForm("site_id"), 10, 64)
	err := once(p.Site, c, "", func() (string, error) {
		// The person is told when they can be: they agreed to be sent
		// where to go.
		in := distribution.NewReservation{VoucherCode: c.Param("code"), SiteID: site, Category: c.PostForm("category")}
		if vo, err := p.Service.GetVoucher(c.Request.Context(), caller, in.VoucherCode); err == nil {
			in.Notify = p.Service.Reachable(c.Request.Context(), caller, vo.BeneficiaryID)
		}
		r, err := p.Service.Reserve(c.Request.Context(), caller, in)
		if err != nil {
			return "", err
		}
		web.Flash(c, l.T("%s set aside at %s until %s: the person asks for it at the counter with the voucher.", r.Tag, r.SiteName, l.Date(r.ExpiresAt, siteLocation(r.Timezone))), false)
		return "/bons/" + c.Param("code"), nil
	})
	if err != nil {
		if _, _, ok := web.FieldErrors(l, err); !ok && !errors.Is(err, apperr.ErrConflict) {
			return err
		}
		if perr := p.voucherPage(c, caller, &d); perr != nil {
			return perr
		}
		d.ReserveError = l.T("Not set aside:") + " " + web.Say(l, err)
		p.Site.Render(c, http.StatusConflict, "voucher", &d)
		return nil
	}
	return nil
}

// cancelReservation frees a device set aside for the voucher.
func (p *Distribution) cancelReservation(c *gin.Context, caller partners.Caller) error {
	id, _ := strconv.ParseInt(c.PostForm("reservation_id"), 10, 64)
	err := once(p.Site, c, "Reservation cancelled: the device is free again.", func() (string, error) {
		_, err := p.Service.CancelReservation(c.Request.Context(), caller, id)
		return "/bons/" + c.Param("code"), err
	})
	if err != nil {
		return err
	}
	return nil
}

func (p *Distribution) pdf(c *gin.Context, caller partners.Caller) error {
	b, err := p.Service.VoucherPDF(c.Request.Context(), caller, c.Param("code"), c.Query("format"))
	if err != nil {
		return err
	}
	httpx.SendFile(c, "bon-tremplin.pdf", "application/pdf", b, true)
	return nil
}

func (p *Distribution) revoke(c *gin.Context, caller partners.Caller) error {
	return once(p.Site, c, "The voucher is revoked.", func() (string, error) {
		v, err := p.Service.Revoke(c.Request.Context(), caller, c.Param("code"), c.PostForm("reason"))
		return "/bons/" + v.Code, err
	})
}

func (p *Distribution) renew(c *gin.Context, caller partners.Caller) error {
	days, err := strconv.Atoi(c.PostForm("valid_days"))
	if err != nil {
		days = 0 // the service says a missing number of days
	}
	return once(p.Site, c, "The voucher is renewed: here is the new one. Print it or send it to the person.", func() (string, error) {
		v, err := p.Service.Renew(c.Request.Context(), caller, c.Param("code"), days)
		return "/bons/" + v.Code, err
	})
}

// verify is the counter's check: type or scan a code, see what it allows.
func (p *Distribution) verify(c *gin.Context, caller partners.Caller) error {
	d := data(caller)
	d.Code = strings.TrimSpace(c.Query("code"))
	status := http.StatusOK
	// A link from another site only fills the form in: looked up, its codes
	// would count toward the person's limit of unknown codes (21 links
	// locked a counter out).
	if d.Code != "" && c.GetHeader("Sec-Fetch-Site") == "cross-site" {
		d.Errors = []string{p.Site.Lang(c).T("This code comes from a link on another site: check it with the person, then press Check.")}
		if r := []rune(d.Code); len(r) > 40 {
			d.Code = string(r[:40])
		}
		p.Site.Render(c, status, "verify", &d)
		return nil
	}
	// Something that cannot be a voucher's code (a device's tag, a command
	// card) is said so, and counts nothing toward the limit.
	if said, err := p.notAVoucher(c, caller, d.Code); err != nil {
		return err
	} else if said != "" {
		d.Errors = []string{said}
		p.Site.Render(c, http.StatusUnprocessableEntity, "verify", &d)
		return nil
	}
	if d.Code != "" {
		v, err := p.Service.LookupVoucher(c.Request.Context(), caller, d.Code)
		switch {
		case err == nil:
			d.Voucher = &v
		case errors.Is(err, apperr.ErrInvalid):
			status, d.Errors = http.StatusUnprocessableEntity, []string{p.Site.Lang(c).T("This code has a typing mistake: check each character with the person.")}
		case errors.Is(err, apperr.ErrNotFound):
			status, d.Errors = http.StatusNotFound, []string{p.Site.Lang(c).T("No voucher has this code.")}
		default:
			return err
		}
	}
	p.Site.Render(c, status, "verify", &d)
	return nil
}
