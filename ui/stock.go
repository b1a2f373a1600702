package ui

import (
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/inventory"

	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

type stockView struct {
	web.Page
	SiteID   int64
	SiteName string
	Sites    []partners.Organization
	// Rows are the categories present, each with its count by state.
	Rows      []stockRow
	States    []inventory.State
	Recharges []recharges.StockLine
	// Accessories are the site's accessories with their low marks.
	Accessories []accessoryShelf
}

// accessoryShelf is an accessory on a site's shelf.
type accessoryShelf struct {
	Name      string
	Available int
	Threshold int
	Low       bool
}

type stockRow struct {
	Category inventory.Category
	Counts   map[inventory.State]int64
	Total    int64
}

// stock is a site's shelf: devices by category and state, and recharge
// cards by product with the low-stock marks.
func (p *Inventory) stock(c *gin.Context, caller partners.Caller) error {
	v := &stockView{}
	return p.show(c, "stock", v, p.stockPage(c, caller, v))
}

// stockPage fills the stock page for the caller's site, or the one asked.
func (p *Inventory) stockPage(c *gin.Context, caller partners.Caller, v *stockView) error {
	sc := &stockCheckView{}
	if err := p.stockCheckPage(c, caller, sc, c.Query("site")); err != nil {
		return err
	}
	v.SiteID, v.SiteName, v.Sites = sc.SiteID, sc.SiteName, sc.Sites
	if v.SiteID == 0 {
		return nil
	}
	counts, err := p.Service.ShelfCounts(c.Request.Context(), caller, v.SiteID)
	if err != nil {
		return err
	}
	seen := map[inventory.State]bool{}
	for _, cat := range inventory.Categories {
		if counts[cat] == nil {
			continue
		}
		row := stockRow{Category: cat, Counts: counts[cat]}
		for st, n := range counts[cat] {
			row.Total += n
			seen[st] = true
		}
		v.Rows = append(v.Rows, row)
	}
	for _, st := range inventory.States {
		if seen[st] {
			v.States = append(v.States, st)
		}
	}
	if v.Recharges, err = p.Recharges.Stock(c.Request.Context(), caller, v.SiteID, false); err != nil {
		return err
	}
	list, have, err := p.shelvedAccessories(c, caller, v.SiteID)
	if err != nil {
		return err
	}
	for _, a := range list {
		row := accessoryShelf{Name: a.Name, Threshold: a.LowStockThreshold, Low: a.LowStockThreshold > 0}
		if st, ok := have[a.ID]; ok {
			row.Available, row.Low = st.Available, st.Low && a.LowStockThreshold > 0
		}
		v.Accessories = append(v.Accessories, row)
	}
	return nil
}

// shelvedAccessories are the network's active accessories and a site's
// stock of each, by accessory (none when the network keeps no
// accessories).
func (p *Inventory) shelvedAccessories(c *gin.Context, caller partners.Caller, site int64) ([]accessories.Accessory, map[int64]accessories.Stock, error) {
	if p.Accessories == nil {
		return nil, nil, nil
	}
	list, err := p.Accessories.List(c.Request.Context(), caller)
	if err != nil {
		return nil, nil, err
	}
	stock, err := p.Accessories.StockOf(c.Request.Context(), caller, site)
	if err != nil {
		return nil, nil, err
	}
	have := make(map[int64]accessories.Stock, len(stock))
	for _, st := range stock {
		have[st.AccessoryID] = st
	}
	return slices.DeleteFunc(list, func(a accessories.Accessory) bool { return !a.Active }), have, nil
}
