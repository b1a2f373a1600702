package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/api"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// Accessories is the accessories' web UI: the catalogue (admins define an
// accessory), a site's stock with its receipts and corrections.
type Accessories struct {
	Service  *accessories.Service
	Partners *partners.Service
	Site     *web.Site
	Session  gin.HandlerFunc
}

// Routes mounts the pages.
func (p *Accessories) Routes(r gin.IRouter) {
	g := r.Group("", p.Session, api.Allow(accessories.StaffRoles...))
	g.GET("/accessoires", withCaller(p.page))
	g.POST("/accessoires", withCaller(p.create))
	g.POST("/accessoires/mouvement", withCaller(p.move))
}

// Menu is what the accessories' pages offer a caller.
func (p *Accessories) Menu(c partners.Caller) []web.Link {
	if !c.Is(accessories.StaffRoles...) {
		return nil
	}
	return []web.Link{{ID: "accessories", Label: "Accessories", Href: "/accessoires"}}
}

// accessoryRow is an accessory as the page lists it, with a site's stock.
type accessoryRow struct {
	accessories.Accessory
	Available int
	Low       bool
}

type pageView struct {
	web.Page
	Admin bool
	Kinds []string
	// SiteID is the site whose stock is shown and moved; Sites the sites
	// an admin may choose.
	SiteID int64
	Sites  []partners.Organization
	Rows   []accessoryRow
	// The two forms: a new accessory (admins), a movement.
	Form        url.Values
	FieldErrors map[string]string
	Errors      []string
	Move        url.Values
	MoveErrors  map[string]string
	MoveAll     []string
}

func (p *Accessories) fill(c *gin.Context, caller partners.Caller, v *pageView, site int64) error {
	ctx := c.Request.Context()
	v.Admin, v.Kinds = caller.IsAdmin(), accessories.Kinds
	if own, ok := caller.SiteID(); ok && !caller.IsAdmin() {
		site = own
	}
	if caller.IsAdmin() {
		for _, k := range []partners.Kind{partners.KindWarehouse, partners.KindSpace} {
			l, err := p.Partners.ListOrganizations(ctx, caller, partners.OrganizationFilter{Kind: k}, paging.Page{Limit: 500})
			if err != nil {
				return err
			}
			v.Sites = append(v.Sites, l.Items...)
		}
		if site == 0 && len(v.Sites) > 0 {
			site = v.Sites[0].ID
		}
	}
	v.SiteID = site
	list, err := p.Service.List(ctx, caller)
	if err != nil {
		return err
	}
	have := map[int64]accessories.Stock{}
	if site != 0 {
		stock, err := p.Service.StockOf(ctx, caller, site)
		if err != nil {
			return err
		}
		for _, st := range stock {
			have[st.AccessoryID] = st
		}
	}
	for _, a := range list {
		st, ok := have[a.ID]
		v.Rows = append(v.Rows, accessoryRow{Accessory: a, Available: st.Available, Low: !ok || st.Low})
	}
	if v.Form == nil {
		v.Form = url.Values{"kind": {"charger"}}
	}
	if v.Move == nil {
		v.Move = url.Values{}
	}
	return nil
}

func (p *Accessories) page(c *gin.Context, caller partners.Caller) error {
	site, _ := strconv.ParseInt(c.Query("site"), 10, 64)
	v := &pageView{}
	if err := p.fill(c, caller, v, site); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "accessories", v)
	return nil
}

// create defines an accessory (admins).
func (p *Accessories) create(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	in := accessories.NewAccessory{Name: f.Get("name"), Kind: f.Get("kind")}
	v := &apperr.ValidationError{}
	for field, dst := range map[string]**int64{"price": &in.PriceCents, "reference_price": &in.ReferencePriceCents} {
		if raw := strings.TrimSpace(f.Get(field)); raw != "" {
			cents, ok := money.Parse(raw)
			if !ok {
				v.Field(field+"_cents", "type an amount in euros, such as 5 or 4,50")
				continue
			}
			*dst = &cents
		}
	}
	if b := strings.TrimSpace(f.Get("barcode")); b != "" {
		in.Barcode = &b
	}
	if t := strings.TrimSpace(f.Get("low_stock_threshold")); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			v.Field("low_stock_threshold", "must be a whole number")
		}
		in.LowStockThreshold = &n
	}
	l := p.Site.Lang(c)
	err := once(p.Site, c, "", func() (string, error) {
		if err := v.Err(); err != nil {
			return "", err
		}
		a, err := p.Service.Create(c.Request.Context(), caller, in)
		if err != nil {
			return "", err
		}
		web.Flash(c, l.T("%s added to the accessories.", a.Name), false)
		return "/accessoires", nil
	})
	if err != nil {
		return p.refused(c, caller, err, func(pv *pageView, fields map[string]string, all []string) {
			pv.Form, pv.FieldErrors, pv.Errors = f, fields, all
		})
	}
	return nil
}

// move records a receipt or a correction at the site shown.
func (p *Accessories) move(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	site, _ := strconv.ParseInt(f.Get("site_id"), 10, 64)
	if own, ok := caller.SiteID(); ok && !caller.IsAdmin() {
		site = own
	}
	id, _ := strconv.ParseInt(f.Get("accessory_id"), 10, 64)
	n, nerr := strconv.Atoi(strings.TrimSpace(f.Get("quantity")))
	l := p.Site.Lang(c)
	err := once(p.Site, c, "", func() (string, error) {
		if nerr != nil {
			return "", apperr.Invalid("quantity", "type a whole number: 40 for a box received, -2 for two broken")
		}
		m, err := p.Service.Record(c.Request.Context(), caller, site, accessories.NewMovement{AccessoryID: id, Quantity: n, Reason: f.Get("reason")})
		if err != nil {
			return "", err
		}
		web.Flash(c, l.T("Recorded: %d now in stock.", m.Available), false)
		return "/accessoires?site=" + strconv.FormatInt(site, 10), nil
	})
	if err != nil {
		return p.refused(c, caller, err, func(pv *pageView, fields map[string]string, all []string) {
			pv.Move, pv.MoveErrors, pv.MoveAll = f, fields, all
		})
	}
	return nil
}

// refused shows the page again with a form as typed and what was refused.
func (p *Accessories) refused(c *gin.Context, caller partners.Caller, err error, set func(*pageView, map[string]string, []string)) error {
	fields, all, ok := web.Refusal(p.Site.Lang(c), err)
	if !ok {
		return err
	}
	v := &pageView{}
	set(v, fields, all)
	site, _ := strconv.ParseInt(c.PostForm("site_id"), 10, 64)
	if ferr := p.fill(c, caller, v, site); ferr != nil {
		return ferr
	}
	p.Site.Render(c, http.StatusUnprocessableEntity, "accessories", v)
	return nil
}
