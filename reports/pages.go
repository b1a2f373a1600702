package reports

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/backup"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Pages are the network admin's home: the network's counts today.
type Pages struct {
	Service   *Service
	Recharges *recharges.Service
	Site      *web.Site
	Session   gin.HandlerFunc
}

// Routes mounts the pages: the admin's home is the network's dashboard;
// site staff have their site's.
func (p *Pages) Routes(r gin.IRouter) {
	r.GET("/admin", p.Session, httpx.Handle(p.dashboard))
	r.GET("/tableau-de-bord", p.Session, httpx.Handle(p.dashboard))
	r.GET("/admin/donateurs/:id/impact.pdf", p.Session, httpx.Handle(p.impact))
	r.GET("/admin/rapports/financeurs.csv", p.Session, p.funders("csv"))
	r.GET("/admin/rapports/financeurs.pdf", p.Session, p.funders("pdf"))
	r.GET("/admin/rapports/donnees-ouvertes.csv", p.Session, httpx.Handle(p.openData))
}

// funders downloads the funder report of the dashboard's period (admins).
func (p *Pages) funders(format string) gin.HandlerFunc {
	return httpx.Handle(func(c *gin.Context) error {
		caller, err := partners.CurrentCaller(c)
		if err == nil {
			var f File
			if f, err = p.Service.FundersFile(c.Request.Context(), caller, c.Query("from"), c.Query("to"), format); err == nil && format == "csv" {
				f.Body, err = p.Site.Spreadsheet(c, f.Body)
			}
			if err == nil {
				serveFile(c, f)
				return nil
			}
		}
		return err
	})
}

// openData downloads the open-data CSV of the dashboard's period (admins).
func (p *Pages) openData(c *gin.Context) error {
	caller, err := partners.CurrentCaller(c)
	if err == nil {
		var f File
		if f, err = p.Service.OpenDataFile(c.Request.Context(), caller, c.Query("from"), c.Query("to")); err == nil {
			serveFile(c, f)
			return nil
		}
	}
	return err
}

// impact prints a donor's impact report (admins).
func (p *Pages) impact(c *gin.Context) error {
	caller, err := partners.CurrentCaller(c)
	if err != nil {
		return err
	}
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	pdf, name, err := p.Service.ImpactReport(c.Request.Context(), caller, id, c.Query("from"), c.Query("to"), i18n.French) // printed in French, as the certificates
	if err != nil {
		return err
	}
	httpx.SendFile(c, name, "application/pdf", pdf, true)
	return nil
}

// Menu is the admin's home, first in their menu.
func (p *Pages) Menu(c partners.Caller) []web.Link {
	if !c.IsAdmin() {
		return nil
	}
	return []web.Link{{ID: "network", Label: "Dashboard", Href: "/admin", Primary: true}}
}

// SiteMenu is site staff's dashboard, last in their menu: their home
// stays their daily task.
func (p *Pages) SiteMenu(c partners.Caller) []web.Link {
	if !c.Is(partners.RoleWarehouse, partners.RoleSpace) {
		return nil
	}
	return []web.Link{{ID: "dashboard", Label: "Dashboard", Href: "/tableau-de-bord"}}
}

// SiteCounts are one site's shelves today.
type SiteCounts struct {
	ID          int64
	Name        string
	Kind        partners.Kind
	Devices     map[string]int64 // by state
	Recharges   int64            // cards sellable today
	Accessories int64            // accessories on the shelves
	Low         []string         // products and accessories under their threshold
}

// AccessoryShelf is an accessory's stock at a site, with its low mark.
type AccessoryShelf struct {
	SiteID    int64
	Name      string
	Available int64
	Threshold int64
	Low       bool
}

// accessoryShelves reads the accessories' stock of one site (or of every
// site with 0), active accessories only, by name.
func (s *Service) accessoryShelves(ctx context.Context, siteID int64) ([]AccessoryShelf, error) {
	q := s.DB.WithContext(ctx).Table("accessory_stock st").Select("st.site_id, a.name, st.available, a.low_stock_threshold AS threshold").
		Joins("JOIN accessories a ON a.id = st.accessory_id").Where("a.active = ?", true).Order("st.site_id, a.name")
	if siteID != 0 {
		q = q.Where("st.site_id = ?", siteID)
	}
	var out []AccessoryShelf
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("accessory stock: %w", err)
	}
	for i := range out {
		out[i].Low = out[i].Threshold > 0 && out[i].Available <= out[i].Threshold
	}
	return out, nil
}

// Network is the network's counts today.
type Network struct {
	States         []string // in lifecycle order, those with devices
	DevicesByState map[string]int64
	Sites          []SiteCounts
	VouchersActive int64
	PeopleActive   int64 // people holding an active voucher
}

// lifecycle is the order states are shown in.
var lifecycle = []string{"received", "diagnosed", "in_repair", "erased", "ready", "in_transit", "in_stock", "sold", "returned", "recycled", "lost"}

// Counts reads the network's counts (admins only): devices by state, each
// site's shelves and recharge cards, active vouchers.
func (s *Service) Counts(ctx context.Context, c partners.Caller, stock *recharges.Service) (Network, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return Network{}, err
	}
	db := s.DB.WithContext(ctx)
	out := Network{DevicesByState: map[string]int64{}}
	// The devices as they stand, from the figures (not a count of every
	// device ever given).
	var counted []struct {
		OrgID int64
		Label string
		N     int64
	}
	if err := db.Raw(`SELECT org_id, label, SUM(n) AS n FROM figure_rows WHERE day = '' AND metric = ? GROUP BY org_id, label HAVING SUM(n) <> 0`, figures.Devices).Scan(&counted).Error; err != nil {
		return out, fmt.Errorf("devices by state: %w", err)
	}
	type row struct {
		SiteID int64
		State  string
		N      int64
	}
	rows := make([]row, 0, len(counted))
	for _, c := range counted {
		state, _, _ := strings.Cut(c.Label, "/")
		rows = append(rows, row{c.OrgID, state, c.N})
	}
	var sites []partners.Organization
	if err := db.Where("kind IN ? AND active = ?", []partners.Kind{partners.KindWarehouse, partners.KindSpace}, true).Order("kind DESC, name").Find(&sites).Error; err != nil {
		return out, fmt.Errorf("sites: %w", err)
	}
	at := map[int64]int{}
	for i, site := range sites {
		at[site.ID] = i
		out.Sites = append(out.Sites, SiteCounts{ID: site.ID, Name: site.Name, Kind: site.Kind, Devices: map[string]int64{}})
	}
	for _, r := range rows {
		out.DevicesByState[r.State] += r.N
		if i, ok := at[r.SiteID]; ok {
			out.Sites[i].Devices[r.State] += r.N
		}
	}
	for _, st := range lifecycle {
		if out.DevicesByState[st] > 0 {
			out.States = append(out.States, st)
		}
	}
	lines, err := stock.Shelves(ctx, c, 0)
	if err != nil {
		return out, err
	}
	for _, l := range lines {
		if i, ok := at[l.SiteID]; ok {
			out.Sites[i].Recharges += l.Available
			if l.Low {
				out.Sites[i].Low = append(out.Sites[i].Low, l.Product)
			}
		}
	}
	shelves, err := s.accessoryShelves(ctx, 0)
	if err != nil {
		return out, err
	}
	for _, a := range shelves {
		if i, ok := at[a.SiteID]; ok {
			out.Sites[i].Accessories += a.Available
			if a.Low {
				out.Sites[i].Low = append(out.Sites[i].Low, a.Name)
			}
		}
	}
	now := s.now()
	if err := db.Table("vouchers").Where("status = ? AND expires_at > ?", "active", now).Count(&out.VouchersActive).Error; err != nil {
		return out, fmt.Errorf("active vouchers: %w", err)
	}
	if err := db.Table("vouchers").Where("status = ? AND expires_at > ?", "active", now).Distinct("beneficiary_id").Count(&out.PeopleActive).Error; err != nil {
		return out, fmt.Errorf("people with a voucher: %w", err)
	}
	slices.SortStableFunc(out.Sites, func(a, b SiteCounts) int {
		if a.Kind != b.Kind {
			if a.Kind == partners.KindWarehouse {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, nil
}

type dashboardView struct {
	web.Page
	Network  *Network // the admin's view: every site's shelves
	Dash     Dashboard
	From, To string
	SiteID   int64
	Sites    []SiteCounts // the admin's choice of a site
	Stock    []recharges.StockLine
	// Accessories are the site's accessories (a site's view).
	Accessories []AccessoryShelf
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
	Backup *BackupState
}

// BackupState is when the last backup was taken, and whether that is too
// long ago (more than two days: the daily one has stopped).
type BackupState struct {
	Last  time.Time
	None  bool
	Stale bool
}

// Backups says how old the network's last backup is (admins only).
func (s *Service) Backups(ctx context.Context, c partners.Caller) (BackupState, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return BackupState{}, err
	}
	last, err := backup.Last(ctx, s.DB)
	if err != nil {
		return BackupState{}, err
	}
	return BackupState{Last: last, None: last.IsZero(), Stale: last.IsZero() || s.now().Sub(last) > 48*time.Hour}, nil
}

// dashboard is the admin's home (the network, or one site) and site
// staff's view of their site: the period's flow week by week, the sales,
// the vouchers of each prescriber, the stock as it stands. Charts are SVG
// drawn here, each followed by its figures as a table.
func (p *Pages) dashboard(c *gin.Context) error {
	caller, err := partners.CurrentCaller(c)
	if err != nil {
		return err
	}
	if c.Request.URL.Path == "/admin" && !caller.IsAdmin() {
		return apperr.ErrForbidden
	}
	ctx := c.Request.Context()
	l := p.Site.Lang(c)
	v := &dashboardView{From: c.Query("from"), To: c.Query("to"), Flow: Flow, States: lifecycle}
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
		if v.Accessories, err = p.Service.accessoryShelves(ctx, *v.Dash.SiteID); err != nil {
			return err
		}
	}
	for _, n := range v.Dash.AccessoriesSold {
		v.AccessoriesSold += n
	}
	flow := make([]Series, len(Flow))
	sales := []Series{{Name: l.T("Sales")}}
	for i, step := range Flow {
		flow[i].Name = l.T("step." + step)
	}
	for _, w := range v.Dash.Weeks {
		d, _ := time.Parse(time.DateOnly, w.Start)
		v.Weeks = append(v.Weeks, d.Format("02/01"))
		for i, step := range Flow {
			flow[i].Values = append(flow[i].Values, w.Steps[step])
		}
		sales[0].Values = append(sales[0].Values, w.Sales)
	}
	v.FlowChart = LineChart(l.T("Devices through the lifecycle, week by week"), v.Weeks, flow)
	v.SalesChart = BarChart(l.T("Sales week by week"), v.Weeks, sales)
	if len(v.Dash.Prescribers) > 0 {
		use := []Series{{Name: l.T("Issued")}, {Name: l.T("Put to use")}, {Name: l.T("Ended unused")}}
		var names []string
		for _, pr := range v.Dash.Prescribers {
			names = append(names, pr.Name)
			use[0].Values = append(use[0].Values, pr.Issued)
			use[1].Values = append(use[1].Values, pr.Used)
			use[2].Values = append(use[2].Values, pr.Expired)
		}
		v.UseChart = BarChart(l.T("Vouchers of each prescriber"), names, use)
	}
	p.Site.Render(c, http.StatusOK, "dashboard", v)
	return nil
}
