package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Inventory is the warehouse bench's web UI: the scan station, donations and
// intake by scanning, labels, devices, transfers and stock checks. It
// calls the same service methods as the API.
type Inventory struct {
	Service   *inventory.Service
	Partners  *partners.Service
	Recharges *recharges.Service
	// Accessories are counted beside devices in stock checks and carried
	// on transfers; nil when the network does not keep them.
	Accessories *accessories.Service
	Site        *web.Site
	Session     gin.HandlerFunc
	// Lookups limits the public certificate pages per client address;
	// Visitor knows a signed-in person there, without requiring one.
	Lookups *httpx.ClientLimiter
	Visitor gin.HandlerFunc
}

// Routes mounts the pages.
func (p *Inventory) Routes(r gin.IRouter) {
	if p.Lookups != nil {
		visitor := p.Visitor
		if visitor == nil {
			visitor = func(c *gin.Context) { c.Next() }
		}
		r.GET("/certificats/:code", p.Lookups.Middleware(), visitor, httpx.Handle(p.publicCertificate))
	}
	g := r.Group("", p.Session)
	bench := g.Group("", api.Allow(inventory.WarehouseRoles...))
	bench.GET("/poste", withCaller(p.station))
	bench.POST("/poste", withCaller(p.scan))
	bench.GET("/poste/commandes.pdf", withCaller(p.commandSheet))
	g.GET("/appareils", withCaller(p.devices))
	g.POST("/appareils", withCaller(p.register))
	g.GET("/appareils/:tag", withCaller(p.device))
	g.POST("/appareils/:tag/action", withCaller(p.act))
	g.GET("/appareils/:tag/etiquette.pdf", withCaller(p.deviceLabel))
	bench.GET("/dons", withCaller(p.donations))
	bench.POST("/dons", withCaller(p.createDonation))
	g.GET("/dons/:id", withRecord(p.donation))
	g.POST("/dons/:id/appareils", withRecord(p.intakeOne))
	p.Site.Upload(g, "/dons/:id/fichier", withRecord(p.intakeFile))
	p.Site.Upload(g, "/dons/:id/rapports", withRecord(p.donationReports))
	p.Site.Upload(g, "/appareils/:tag/rapport", withCaller(p.deviceReport))
	g.GET("/appareils/:tag/rapports/:rid", withCaller(p.reportFile))
	g.GET("/dons/:id/certificat.pdf", withRecord(p.certificate))
	g.POST("/dons/:id/recu-fiscal", withRecord(p.issueReceipt))
	g.POST("/dons/:id/recu-fiscal/annuler", withRecord(p.cancelReceipt))
	g.GET("/dons/:id/recu-fiscal.pdf", withRecord(p.receiptPDF))
	g.GET("/etiquettes", api.Allow(inventory.StaffRoles...), withCaller(p.labels))
	g.POST("/etiquettes/liste", withCaller(p.printList))
	g.POST("/etiquettes/planche.pdf", withCaller(p.labelsPDF))
	g.GET("/transferts", withCaller(p.transfers))
	g.GET("/transferts/nouveau", withCaller(p.newTransfer))
	g.POST("/transferts/nouveau", withCaller(p.draftTransfer))
	g.GET("/transferts/:id", withRecord(p.transfer))
	g.POST("/transferts/:id/expedier", withRecord(p.shipTransfer))
	g.POST("/transferts/:id/annuler", withRecord(p.cancelTransfer))
	g.GET("/transferts/:id/manifeste.pdf", withRecord(p.manifest))
	g.GET("/transferts/:id/reception", withRecord(p.receptionPage))
	g.POST("/transferts/:id/reception", withRecord(p.receive))
	g.GET("/stock", withCaller(p.stock))
	g.GET("/inventaire", withCaller(p.stockCheck))
	g.POST("/inventaire", withCaller(p.scanShelf))
	g.GET("/inventaire/:site/:id", withCaller(p.stockCheckResult))
	g.POST("/inventaire/:site/:id/correction", withCaller(p.correctFromCheck))
	admin := g.Group("/admin", api.Allow(partners.RoleAdmin))
	admin.GET("/prix", withCaller(p.prices))
	admin.POST("/prix", withCaller(p.savePrices))
	admin.POST("/prefixes", withCaller(p.savePrefixes))
}

// Menu is what the bench's pages offer a caller, from the services' role
// lists.
func (p *Inventory) Menu(c partners.Caller) []web.Link {
	var out []web.Link
	if c.Is(inventory.WarehouseRoles...) {
		out = append(out, web.Link{ID: "station", Label: "Scan station", Href: "/poste", Primary: true},
			web.Link{ID: "donations", Label: "Donations", Href: "/dons"})
	}
	if c.Is(partners.RoleSpace) {
		out = append(out, web.Link{ID: "reception", Label: "Reception", Href: "/transferts?statut=shipped"})
	}
	if c.Is(inventory.StaffRoles...) {
		out = append(out, web.Link{ID: "devices", Label: "Devices", Href: "/appareils"},
			web.Link{ID: "labels", Label: "Labels", Href: "/etiquettes"},
			web.Link{ID: "transfers", Label: "Transfers", Href: "/transferts"},
			web.Link{ID: "stock", Label: "Stock", Href: "/stock"},
			web.Link{ID: "stock-check", Label: "Stock check", Href: "/inventaire"})
	}
	if c.IsAdmin() {
		out = append(out, web.Link{ID: "prices", Label: "Prices and tags", Href: "/admin/prix"})
	}
	return out
}

// show draws a page once its view is filled (err is the filling's).
func (p *Inventory) show(c *gin.Context, name string, view any, err error) error {
	if err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, name, view)
	return nil
}

// idIn reads an id from a form or a query; "" is 0 (the service says
// what is required).
func idIn(vals url.Values, name string, v *apperr.ValidationError) int64 {
	s := strings.TrimSpace(vals.Get(name))
	if s == "" {
		return 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		v.Field(name, "must be a positive whole number")
	}
	return id
}

func (p *Inventory) lang(c *gin.Context) i18n.Lang { return p.Site.Lang(c) }

// euros writes cents for a form's field: "35,00" or "35.00".
func euros(l i18n.Lang, cents int64) string { return money.Input(cents, l == i18n.French) }

// pageList reads a list page's cursor.
func pageList(c *gin.Context, limit int) (paging.Page, error) {
	pg, err := httpx.ParsePage(c)
	if err == nil && c.Query("limit") == "" {
		pg.Limit = limit
	}
	return pg, err
}

// nextLink is the link to a list's next page, with the same filters.
func nextLink(path string, q url.Values, next *string) string {
	if next == nil {
		return ""
	}
	q2 := url.Values{}
	for k, v := range q {
		if k != "cursor" && len(v) > 0 && v[0] != "" {
			q2[k] = v
		}
	}
	q2.Set("cursor", *next)
	return path + "?" + q2.Encode()
}

// siteNames names the sites and donors the caller may see, for lists that
// hold ids.
func (p *Inventory) siteNames(c *gin.Context, caller partners.Caller, kinds ...partners.Kind) (map[int64]string, []partners.Organization, error) {
	names := map[int64]string{}
	var all []partners.Organization
	for _, k := range kinds {
		l, err := p.Partners.ListOrganizations(c.Request.Context(), caller, partners.OrganizationFilter{Kind: k}, paging.Page{Limit: 500})
		if err != nil {
			return nil, nil, err
		}
		for _, o := range l.Items {
			if o.Active {
				names[o.ID] = o.Name
				all = append(all, o)
			}
		}
	}
	return names, all, nil
}

// States and categories as the pages list them.
func stateNames() []string {
	out := make([]string, len(inventory.States))
	for i, s := range inventory.States {
		out[i] = string(s)
	}
	return out
}

func categoryNames() []string {
	out := make([]string, len(inventory.Categories))
	for i, c := range inventory.Categories {
		out[i] = string(c)
	}
	return out
}

// The print list is the devices a person put aside to print their labels
// together (on a sheet), kept on their browser.
const printCookie = "tremplin_print"

const maxPrintList = 300

func readPrintList(c *gin.Context) []int64 {
	raw, err := c.Cookie(printCookie)
	if err != nil {
		return nil
	}
	var ids []int64
	for _, s := range strings.Split(raw, ".") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func writePrintList(c *gin.Context, ids []int64) {
	if len(ids) > maxPrintList {
		ids = ids[len(ids)-maxPrintList:]
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: printCookie, Value: strings.Join(parts, "."), Path: "/",
		MaxAge: 30 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(c)})
}

func addToPrintList(c *gin.Context, ids ...int64) int {
	list := readPrintList(c)
	for _, id := range ids {
		if !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	writePrintList(c, list)
	return len(list)
}

// pdf sends a PDF to open in the browser's tab.
func (p *Inventory) pdf(c *gin.Context, name string, b []byte, err error) error {
	if err != nil {
		return err
	}
	httpx.SendFile(c, name, "application/pdf", b, true)
	return nil
}
