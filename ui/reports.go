package ui

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/tremplin/tremplin/reports"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Reports is the network admin's home: the network's counts today.
type Reports struct {
	Service   *reports.Service
	Recharges *recharges.Service
	Site      *web.Site
	Session   gin.HandlerFunc
}

// Routes mounts the pages: the admin's home is the network's dashboard;
// site staff have their site's.
func (p *Reports) Routes(r gin.IRouter) {
	r.GET("/admin", p.Session, withCaller(p.dashboard))
	r.GET("/tableau-de-bord", p.Session, withCaller(p.dashboard))
	r.GET("/admin/donateurs/:id/impact.pdf", p.Session, withCaller(p.impact))
	r.GET("/admin/rapports/financeurs.csv", p.Session, withCaller(p.funders("csv")))
	r.GET("/admin/rapports/financeurs.pdf", p.Session, withCaller(p.funders("pdf")))
	r.GET("/admin/rapports/donnees-ouvertes.csv", p.Session, withCaller(p.openData))
}

// funders downloads the funder report of the dashboard's period (admins).
func (p *Reports) funders(format string) func(c *gin.Context, caller partners.Caller) error {
	return func(c *gin.Context, caller partners.Caller) error {
		f, err := p.Service.FundersFile(c.Request.Context(), caller, c.Query("from"), c.Query("to"), format)
		if err == nil && format == "csv" {
			f.Body, err = p.Site.Spreadsheet(c, f.Body)
		}
		if err != nil {
			return err
		}
		httpx.SendFile(c, f.Name, f.ContentType, f.Body, false)
		return nil
	}
}

// openData downloads the open-data CSV of the dashboard's period (admins).
func (p *Reports) openData(c *gin.Context, caller partners.Caller) error {
	f, err := p.Service.OpenDataFile(c.Request.Context(), caller, c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	httpx.SendFile(c, f.Name, f.ContentType, f.Body, false)
	return nil
}

// impact prints a donor's impact report (admins).
func (p *Reports) impact(c *gin.Context, caller partners.Caller) error {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	pdf, name, err := p.Service.ImpactReport(c.Request.Context(), caller, id, c.Query("from"), c.Query("to"), i18n.French) // printed in French, as the certificates
	if err != nil {
		return err
	}
	httpx.SendFile(c, name, "application/pdf", pdf, true)
	return nil
}

// Menu is the admin's home, first in their menu.
func (p *Reports) Menu(c partners.Caller) []web.Link {
	if !c.IsAdmin() {
		return nil
	}
	return []web.Link{{ID: "network", Label: "Dashboard", Href: "/admin", Primary: true}}
}

// SiteMenu is site staff's dashboard, last in their menu: their home
// stays their daily task.
func (p *Reports) SiteMenu(c partners.Caller) []web.Link {
	if !c.Is(partners.RoleWarehouse, partners.RoleSpace) {
		return nil
	}
	return []web.Link{{ID: "dashboard", Label: "Dashboard", Href: "/tableau-de-bord"}}
}

type dashboardView struct {
	web.Page
	Network  *reports.Network // the admin's view: every site's shelves
	Dash     reports.Dashboard
	From, To string
	SiteID   int64
	Sites    []reports.SiteCounts // the admin's choice of a site
	Stock    []recharges.StockLine
	// Accessories are the site's accessories (a site's view).
	Accessories []reports.AccessoryShelf
	// AccessoriesSold counts the accessories taken over the period.
	AccessoriesSold int64
	Weeks           []string // the weeks' labels (their Monday), 24/03
	Flow            []string
	States          []string
	Problem         string // a period not understood
	FlowChart       template.HTML
	SalesChart      template.HTML
	UseChart        template.HTML
	// Backup is the network's last backup (the admin's view).
	Backup *reports.BackupState
}

// dashboard is the admin's home (the network, or one site) and site
// staff's view of their site: the period's flow week by week, the sales,
// the vouchers of each prescriber, the stock as it stands. Charts are SVG
// drawn here, each followed by its figures as a table.
func (p *Reports) dashboard(c *gin.Context, caller partners.Caller) error {
	var err error
	if c.Request.URL.Path == "/admin" && !caller.IsAdmin() {
		return apperr.ErrForbidden
	}
	ctx := c.Request.Context()
	l := p.Site.Lang(c)
	v := &dashboardView{From: c.Query("from"), To: c.Query("to"), Flow: reports.Flow, States: reports.States}
	if caller.IsAdmin() {
		if id, err := strconv.ParseInt(c.Query("site"), 10, 64); err == nil && id > 0 {
			v.SiteID = id
		}
	}
	v.Dash, err = p.Service.Dashboard(ctx, caller, v.From, v.To, v.SiteID)
	if errors.Is(err, apperr.ErrInvalid) || errors.Is(err, apperr.ErrNotFound) {
		// A mistyped date or site: say so, and show the default view.
		v.Problem = l.T("These dates are not understood: the last twelve weeks are shown.")
		v.From, v.To, v.SiteID = "", "", 0
		v.Dash, err = p.Service.Dashboard(ctx, caller, "", "", 0)
	}
	if err != nil {
		return err
	}
	v.From, v.To = v.Dash.From, v.Dash.To
	if caller.IsAdmin() {
		n, err := p.Service.Counts(ctx, caller, p.Recharges)
		if err != nil {
			return err
		}
		v.Sites = n.Sites
		if v.SiteID == 0 {
			v.Network = &n
		}
		b, err := p.Service.Backups(ctx, caller)
		if err != nil {
			return err
		}
		v.Backup = &b
	}
	if v.Network == nil && v.Dash.SiteID != nil {
		if v.Stock, err = p.Recharges.Shelves(ctx, caller, *v.Dash.SiteID); err != nil {
			return err
		}
		if v.Accessories, err = p.Service.AccessoryShelves(ctx, *v.Dash.SiteID); err != nil {
			return err
		}
	}
	for _, n := range v.Dash.AccessoriesSold {
		v.AccessoriesSold += n
	}
	flow := make([]reports.Series, len(reports.Flow))
	sales := []reports.Series{{Name: l.T("Sales")}}
	for i, step := range reports.Flow {
		flow[i].Name = l.T("step." + step)
	}
	for _, w := range v.Dash.Weeks {
		d, _ := time.Parse(time.DateOnly, w.Start)
		v.Weeks = append(v.Weeks, d.Format("02/01"))
		for i, step := range reports.Flow {
			flow[i].Values = append(flow[i].Values, w.Steps[step])
		}
		sales[0].Values = append(sales[0].Values, w.Sales)
	}
	v.FlowChart = reports.LineChart(l.T("Devices through the lifecycle, week by week"), v.Weeks, flow)
	v.SalesChart = reports.BarChart(l.T("Sales week by week"), v.Weeks, sales)
	if len(v.Dash.Prescribers) > 0 {
		use := []reports.Series{{Name: l.T("Issued")}, {Name: l.T("Put to use")}, {Name: l.T("Ended unused")}}
		var names []string
		for _, pr := range v.Dash.Prescribers {
			names = append(names, pr.Name)
			use[0].Values = append(use[0].Values, pr.Issued)
			use[1].Values = append(use[1].Values, pr.Used)
			use[2].Values = append(use[2].Values, pr.Expired)
		}
		v.UseChart = reports.BarChart(l.T("Vouchers of each prescriber"), names, use)
	}
	p.Site.Render(c, http.StatusOK, "dashboard", v)
	return nil
}
