// Package ui is Tremplin's web UI: server-drawn French (or English) pages,
// one type per domain whose handlers read the form, call the domain's
// service and return their error to httpx.Handle, which draws the error
// page. The domains know no HTTP.
package ui

import (
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/sso"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/reports"
	"github.com/tremplin/tremplin/services"
)

// Config is what the pages need beside the services.
type Config struct {
	Services *services.Services
	// Reports reads the figures for the admins' pages.
	Reports *reports.Service
	// Site draws the pages; Mount sets its frame (who looks at a page).
	Site *web.Site
	// Lookups limits the public certificate pages per client address.
	Lookups *httpx.ClientLimiter
	// BehindProxy: trust X-Forwarded-Proto from the configured proxies when
	// deciding whether cookies are Secure.
	BehindProxy bool
	// SSO is the single sign-on provider (nil: none), and PublicURL the
	// address it sends people back to.
	SSO       *sso.Provider
	PublicURL string
	// AnonymiseAfter is the period without activity after which a
	// person's names are erased ("24mo"), said on their page.
	AnonymiseAfter string
}

// homes are each role's daily page, where / leads.
var homes = map[partners.Role]string{partners.RoleWarehouse: "/poste", partners.RoleSpace: "/caisse",
	partners.RolePrescriber: "/bons/nouveau", partners.RoleAdmin: "/admin"}

// Mount mounts every page on e.
func Mount(e *gin.Engine, c Config) error {
	s := c.Services
	if s == nil || c.Site == nil {
		return errors.New("ui: the services and the site are needed")
	}
	if c.Reports == nil {
		c.Reports = &reports.Service{DB: s.DB}
	}
	if c.Lookups == nil {
		c.Lookups = httpx.NewClientLimiter(3*time.Second, 20)
	}
	site := c.Site
	account := &Partners{Service: s.Partners, Site: site, Homes: homes, BehindProxy: c.BehindProxy, SSO: c.SSO, PublicURL: c.PublicURL}
	site.Frame = account.Frame
	session := account.RequireSession()
	bench := &Inventory{Service: s.Inventory, Partners: s.Partners, Recharges: s.Recharges, Accessories: s.Accessories,
		Site: site, Session: session, Lookups: c.Lookups, Visitor: account.OptionalSession()}
	vouchers := &Distribution{Service: s.Distribution, Partners: s.Partners, Inventory: s.Inventory, Recharges: s.Recharges,
		Accessories: s.Accessories, Site: site, Session: session, AnonymiseAfter: c.AnonymiseAfter}
	cards := &Recharges{Service: s.Recharges, Partners: s.Partners, Site: site, Session: session}
	stocked := &Accessories{Service: s.Accessories, Partners: s.Partners, Site: site, Session: session}
	home := &Reports{Service: c.Reports, Recharges: s.Recharges, Site: site, Session: session}
	account.Menus = append(account.Menus, home.Menu, account.Menu, vouchers.Menu, bench.Menu, cards.Menu, stocked.Menu, home.SiteMenu)
	account.Routes(e)
	account.AdminRoutes(e)
	bench.Routes(e)
	vouchers.Routes(e)
	cards.Routes(e)
	stocked.Routes(e)
	home.Routes(e)
	return nil
}
