package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// pricesView is the network's price grid (category × grade) and the tag
// prefixes, each edited in place.
type pricesView struct {
	web.Page
	formView
	Categories []inventory.Category
	Grades     []string
	Prefixes   url.Values
	PrefixErrs map[string]string
	PrefixAll  []string
}

// gridField names a price's field: price_smartphone_A.
func gridField(c inventory.Category, grade string) string { return "price_" + string(c) + "_" + grade }

func (p *Inventory) pricesView(c *gin.Context, caller partners.Caller) (*pricesView, error) {
	v := &pricesView{Categories: inventory.Categories, Grades: inventory.Grades, Prefixes: url.Values{}}
	v.Form = url.Values{}
	grid, err := p.Service.PriceGrid(c.Request.Context(), caller)
	if err != nil {
		return nil, err
	}
	for cat, grades := range grid {
		for g, cents := range grades {
			v.Form.Set(gridField(cat, g), euros(p.lang(c), cents))
		}
	}
	prefixes, err := p.Service.TagPrefixes(c.Request.Context())
	if err != nil {
		return nil, err
	}
	for cat, pre := range prefixes {
		v.Prefixes.Set("prefix_"+string(cat), pre)
	}
	return v, nil
}

// prices shows the grid and the prefixes.
func (p *Inventory) prices(c *gin.Context, caller partners.Caller) error {
	v, err := p.pricesView(c, caller)
	return p.show(c, "prices", v, err)
}

// savePrices replaces the grid: an empty cell has no price (the station
// then asks for one); a bad cell is said next to it and nothing changes.
func (p *Inventory) savePrices(c *gin.Context, caller partners.Caller) error {
	v, err := p.pricesView(c, caller)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	bad := &apperr.ValidationError{}
	grid := map[string]map[string]int64{}
	for _, cat := range inventory.Categories {
		grid[string(cat)] = map[string]int64{}
		for _, g := range inventory.Grades {
			field := gridField(cat, g)
			s := strings.TrimSpace(f.Get(field))
			if s == "" {
				continue
			}
			cents, ok := money.Parse(s)
			if !ok {
				bad.Field(field, "write an amount in euros, such as 35 or 27,50")
				continue
			}
			grid[string(cat)][g] = cents
		}
	}
	err = bad.Err()
	if err == nil {
		err = once(p.Site, c, "The price grid is saved. Devices already priced keep their price.", func() (string, error) {
			_, err := p.Service.SetPriceGrid(c.Request.Context(), caller, grid)
			return "/admin/prix", err
		})
	}
	if err != nil {
		v.Form = f
		if !v.fail(p.lang(c), err) {
			return err
		}
		// Each cell's problem is said in the cell (the service names a cell
		// "smartphone.A"); the summary points at them.
		cells := map[string]string{}
		for field, msg := range v.FieldErrors {
			if cat, g, ok := strings.Cut(field, "."); ok {
				field = gridField(inventory.Category(cat), g)
			}
			cells[field] = msg
		}
		v.FieldErrors, v.Errors = cells, []string{p.lang(c).T("Check the cells marked in red: nothing was saved.")}
		p.Site.Render(c, http.StatusUnprocessableEntity, "prices", v)
		return nil
	}
	return nil
}

// savePrefixes changes the tag prefixes (typed in any case).
func (p *Inventory) savePrefixes(c *gin.Context, caller partners.Caller) error {
	v, err := p.pricesView(c, caller)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	in := map[string]string{}
	for _, cat := range inventory.Categories {
		if s := strings.ToUpper(strings.TrimSpace(f.Get("prefix_" + string(cat)))); s != "" && s != v.Prefixes.Get("prefix_"+string(cat)) {
			in[string(cat)] = s
		}
	}
	if len(in) == 0 {
		p.Site.Done(c, "/admin/prix", false, p.lang(c).T("Nothing changed."))
		return nil
	}
	err = once(p.Site, c, "The tag prefixes are saved: new devices get them, labels already printed keep theirs.", func() (string, error) {
		_, err := p.Service.SetTagPrefixes(c.Request.Context(), caller, in)
		return "/admin/prix", err
	})
	if err != nil {
		fv := &formView{}
		if !fv.fail(p.lang(c), err) {
			return err
		}
		// The service names a prefix's problem by its category.
		v.PrefixErrs, v.PrefixAll = map[string]string{}, fv.Errors
		for cat, msg := range fv.FieldErrors {
			v.PrefixErrs["prefix_"+cat] = msg
		}
		v.Prefixes = f
		p.Site.Render(c, http.StatusUnprocessableEntity, "prices", v)
		return nil
	}
	return nil
}
