package reports

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

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

// Routes mounts the pages.
func (p *Pages) Routes(r gin.IRouter) {
	r.GET("/admin", p.Session, p.network)
}

// Menu is what the report pages offer a caller.
func (p *Pages) Menu(c partners.Caller) []web.Link {
	if !c.IsAdmin() {
		return nil
	}
	return []web.Link{{ID: "network", Label: "Network", Href: "/admin", Primary: true}}
}

// SiteCounts are one site's shelves today.
type SiteCounts struct {
	ID        int64
	Name      string
	Kind      partners.Kind
	Devices   map[string]int64 // by state
	Recharges int64            // cards sellable today
	Low       []string         // products under their threshold
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
	var rows []struct {
		SiteID int64
		State  string
		N      int64
	}
	if err := db.Table("devices").Select("site_id, state, COUNT(*) AS n").Group("site_id, state").Scan(&rows).Error; err != nil {
		return out, fmt.Errorf("devices by state: %w", err)
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
	lines, err := stock.Stock(ctx, c, 0, false)
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

type networkView struct {
	web.Page
	Network
}

// network is the admin's home: where the devices are, what is running low,
// how many vouchers are out.
func (p *Pages) network(c *gin.Context) {
	caller, err := partners.CurrentCaller(c)
	v := &networkView{}
	if err == nil {
		v.Network, err = p.Service.Counts(c.Request.Context(), caller, p.Recharges)
	}
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	p.Site.Render(c, http.StatusOK, "network", v)
}
