package ui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

type labelsView struct {
	web.Page
	formView
	// Source says where the devices come from: a donation, a search, or
	// the print list.
	Source     string
	DonationID int64
	Query      string
	Devices    []inventory.Device
	Layouts    []pdfdraw.LabelLayout
	Layout     pdfdraw.LabelLayout
	Offset     int
	// Cells draws the first sheet: "used" positions skipped, "label"
	// positions printed, "" free.
	Cells   []string
	Columns int
}

// labels chooses devices, a layout and an offset, and shows where the
// labels fall on the sheet.
func (p *Inventory) labels(c *gin.Context, caller partners.Caller) error {
	var err error
	v := &labelsView{Layouts: pdfdraw.LabelLayouts}
	v.Form = url.Values{}
	ctx := c.Request.Context()
	switch {
	case c.Query("don") != "":
		v.Source = "donation"
		if v.DonationID, err = strconv.ParseInt(c.Query("don"), 10, 64); err != nil {
			err = apperr.ErrNotFound
			break
		}
		var l paging.List[inventory.Device]
		l, err = p.Service.ListDevices(ctx, caller, inventory.DeviceFilter{DonationID: v.DonationID}, paging.Page{Limit: maxPrintList})
		v.Devices = l.Items
	case strings.TrimSpace(c.Query("q")) != "":
		v.Source, v.Query = "search", strings.TrimSpace(c.Query("q"))
		var l paging.List[inventory.Device]
		l, err = p.Service.ListDevices(ctx, caller, inventory.DeviceFilter{Query: v.Query}, paging.Page{Limit: maxPrintList})
		v.Devices = l.Items
	default:
		v.Source = "list"
		if ids := readPrintList(c); len(ids) > 0 {
			v.Devices, err = p.Service.DevicesByIDs(ctx, caller, ids)
			if errors.Is(err, apperr.ErrInvalid) {
				// A device on the list is no longer visible (shipped
				// away): the list keeps what can still be printed.
				err = nil
				keep := make([]int64, len(v.Devices))
				for i, d := range v.Devices {
					keep[i] = d.ID
				}
				writePrintList(c, keep)
			}
		}
	}
	if err != nil {
		return err
	}
	v.Layout = pdfdraw.LabelLayouts[2] // a4-3x8, the sheet most associations buy
	if name := p.siteLayout(c, caller); name != "" {
		v.Layout, _ = pdfdraw.LayoutByName(name)
	}
	if name := c.Query("layout"); name != "" {
		if l, lerr := pdfdraw.LayoutByName(name); lerr == nil {
			v.Layout = l
		}
	}
	if n, oerr := strconv.Atoi(c.Query("offset")); oerr == nil && n >= 0 && n < v.Layout.PerPage() {
		v.Offset = n
	}
	v.Columns, v.Cells = sheetCells(v.Layout, v.Offset, len(v.Devices))
	p.Site.Render(c, http.StatusOK, "labels", v)
	return nil
}

// sheetCells lays the first sheet out for the picture: positions before
// the offset are used, the next ones get labels.
func sheetCells(l pdfdraw.LabelLayout, offset, n int) (int, []string) {
	if l.PerPage() <= 1 {
		return 0, nil
	}
	cells := make([]string, l.PerPage())
	for i := range cells {
		switch {
		case i < offset:
			cells[i] = "used"
		case i < offset+n:
			cells[i] = "label"
		}
	}
	return l.Columns, cells
}

// labelsPDF renders the chosen devices' labels (in a new tab).
func (p *Inventory) labelsPDF(c *gin.Context, caller partners.Caller) error {
	req := inventory.LabelRequest{Layout: c.PostForm("layout")}
	for _, s := range c.PostFormArray("device_id") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			req.DeviceIDs = append(req.DeviceIDs, id)
		}
	}
	if s := strings.TrimSpace(c.PostForm("offset")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return apperr.Invalid("offset", "must be between 0 and %d (positions already used on the sheet)", 100)
		}
		req.Offset = n
	}
	b, err := p.Service.Labels(c.Request.Context(), caller, req)
	return p.pdf(c, "etiquettes.pdf", b, err)
}

// printList adds to, takes from or empties the print list.
func (p *Inventory) printList(c *gin.Context, _ partners.Caller) error {
	l := p.lang(c)
	list := readPrintList(c)
	switch c.PostForm("op") {
	case "clear":
		list = nil
		web.Flash(c, l.T("The print list is empty."), false)
	case "remove":
		id, _ := strconv.ParseInt(c.PostForm("device_id"), 10, 64)
		list = slices.DeleteFunc(list, func(x int64) bool { return x == id })
	case "add":
		for _, s := range c.PostFormArray("device_id") {
			if id, err := strconv.ParseInt(s, 10, 64); err == nil && !slices.Contains(list, id) {
				list = append(list, id)
			}
		}
		web.Flash(c, l.TN(int64(len(list)), "%d devices on the print list.", len(list)), false)
	}
	writePrintList(c, list)
	back := c.PostForm("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/etiquettes"
	}
	c.Redirect(http.StatusSeeOther, back)
	return nil
}

// siteLayout is the label stock the caller's site prints on by default
// ("" when none is set, or for an admin).
func (p *Inventory) siteLayout(c *gin.Context, caller partners.Caller) string {
	id, ok := caller.SiteID()
	if !ok {
		return ""
	}
	site, err := p.Partners.Site(c.Request.Context(), id)
	if err != nil {
		return ""
	}
	if _, err := pdfdraw.LayoutByName(site.LabelLayout); err != nil {
		return ""
	}
	return site.LabelLayout
}
