package inventory

import (
	"github.com/gin-gonic/gin"

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
	States    []State
	Recharges []recharges.StockLine
}

type stockRow struct {
	Category Category
	Counts   map[State]int64
	Total    int64
}

// stock is a site's shelf: devices by category and state, and recharge
// cards by product with the low-stock marks.
func (p *Pages) stock(c *gin.Context) {
	v := &stockView{}
	p.show(c, "stock", v, func(caller partners.Caller) error {
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
		seen := map[State]bool{}
		for _, cat := range Categories {
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
		for _, st := range States {
			if seen[st] {
				v.States = append(v.States, st)
			}
		}
		v.Recharges, err = p.Recharges.Stock(c.Request.Context(), caller, v.SiteID, false)
		return err
	})
}
