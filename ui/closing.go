package ui

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tremplin/tremplin/distribution"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

type closingView struct {
	web.Page
	// Format is the site's receipt printer.
	Format   string
	Closing  distribution.Closing
	Past     []distribution.PastClosing
	Counted  string
	Errors   []string
	FieldErr string
}

// closingPage is the day's till: totals by payment method, what was sold,
// the cash to count, and the past closings.
func (p *Distribution) closingPage(c *gin.Context, caller partners.Caller) error {
	site, _ := caller.SiteID()
	v := &closingView{}
	if err := p.fillClosing(c, caller, site, c.Query("date"), v); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "closing", v)
	return nil
}

func (p *Distribution) fillClosing(c *gin.Context, caller partners.Caller, site int64, date string, v *closingView) error {
	var err error
	if v.Closing, err = p.Service.DayClosing(c.Request.Context(), caller, site, date); err != nil {
		return err
	}
	if v.Past, err = p.Service.PastClosings(c.Request.Context(), caller, site, 30); err != nil {
		return err
	}
	org, err := p.Partners.GetOrganization(c.Request.Context(), caller, site)
	v.Format = org.ReceiptFormat
	return err
}

// receiptFormat records the site's receipt printer.
func (p *Distribution) receiptFormat(c *gin.Context, caller partners.Caller) error {
	site, _ := caller.SiteID()
	if err := p.Partners.SetReceiptFormat(c.Request.Context(), caller, site, c.PostForm("format")); err != nil {
		return err
	}
	p.Site.Done(c, "/cloture", false, p.Site.Lang(c).T("The receipt printer is recorded."))
	return nil
}

// recordClosing records the cash counted; the day is then closed.
func (p *Distribution) recordClosing(c *gin.Context, caller partners.Caller) error {
	site, _ := caller.SiteID()
	l := p.Site.Lang(c)
	date := c.PostForm("date")
	counted, valid := money.Parse(c.PostForm("counted"))
	err := once(p.Site, c, "", func() (string, error) {
		if !valid {
			return "", apperr.Invalid("counted", "type an amount in euros, such as 152,30")
		}
		cl, err := p.Service.RecordClosing(c.Request.Context(), caller, site, date, counted)
		if err != nil {
			return "", err
		}
		d := cl.Recorded.DifferenceCents
		msg := l.T("The day is closed. The cash counted matches.")
		if d != 0 {
			msg = l.T("The day is closed, with a difference of %s between the cash counted and the cash expected.", l.Money(d))
		}
		web.Flash(c, msg, d != 0)
		return "/cloture?date=" + url.QueryEscape(date), nil
	})
	if err != nil {
		v := &closingView{Counted: c.PostForm("counted")}
		if ferr := p.fillClosing(c, caller, site, date, v); ferr != nil {
			return ferr
		}
		if !saidToTheCounter(err) {
			return err
		}
		v.Errors = []string{web.Say(l, err)}
		p.Site.Render(c, http.StatusUnprocessableEntity, "closing", v)
		return nil
	}
	return nil
}

type salesView struct {
	web.Page
	Date  string
	Sales []distribution.Sale
	Next  string
}

// sales are the day's sales at the seller's site.
func (p *Distribution) sales(c *gin.Context, caller partners.Caller) error {
	site, _ := caller.SiteID()
	v := &salesView{Date: c.Query("date")}
	if v.Date == "" {
		v.Date = p.Service.Now().In(siteLocation(caller.Timezone)).Format("2006-01-02")
	}
	pg, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	l, err := p.Service.ListSales(c.Request.Context(), caller, distribution.SaleFilter{SiteID: site, Date: v.Date}, pg)
	if err != nil {
		return err
	}
	v.Sales = l.Items
	if l.NextCursor != nil {
		v.Next = "/ventes?" + url.Values{"date": {v.Date}, "cursor": {*l.NextCursor}}.Encode()
	}
	p.Site.Render(c, http.StatusOK, "sales", v)
	return nil
}

// refund gives back devices of a sale within the warranty.
func (p *Distribution) refund(c *gin.Context, caller partners.Caller, id int64) error {
	in := distribution.RefundRequest{Reason: c.PostForm("reason")}
	for _, s := range c.PostFormArray("device_id") {
		if d, err := strconv.ParseInt(s, 10, 64); err == nil {
			in.DeviceIDs = append(in.DeviceIDs, d)
		}
	}
	l := p.Site.Lang(c)
	// Accessories brought back: a number per accessory, blank for none; a
	// number that is not one is said at the top, with what was typed kept.
	typed := map[int64]string{}
	var badCount bool
	for key, vals := range c.Request.PostForm {
		idText, ok := strings.CutPrefix(key, "back-")
		acc, err := strconv.ParseInt(idText, 10, 64)
		if !ok || err != nil || len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			continue
		}
		typed[acc] = strings.TrimSpace(vals[0])
		n, err := strconv.Atoi(typed[acc])
		if err != nil || n < 0 {
			badCount = true
			continue
		}
		if n > 0 {
			in.Accessories = append(in.Accessories, distribution.AccessoryBack{AccessoryID: acc, Quantity: n})
		}
	}
	slices.SortFunc(in.Accessories, func(a, b distribution.AccessoryBack) int { return cmp.Compare(a.AccessoryID, b.AccessoryID) })
	back := "/ventes/" + strconv.FormatInt(id, 10)
	msg := "Refunded: the device is back, to be diagnosed again, and the voucher allows it again."
	if len(in.DeviceIDs) == 0 {
		msg = "Refunded: the accessories are back in stock."
	}
	var err error
	if badCount {
		err = apperr.Invalid("accessories", "type how many of each accessory came back, as a number (blank for none)")
	} else {
		err = once(p.Site, c, msg, func() (string, error) {
			_, err := p.Service.Refund(c.Request.Context(), caller, id, in)
			return back, err
		})
	}
	if err != nil {
		if !saidToTheCounter(err) {
			return err
		}
		// Said on the sale's page, in French, with what was typed kept.
		v := &saleView{Error: l.T("Not refunded:") + " " + web.Say(l, err), Reason: in.Reason, Checked: map[int64]bool{}}
		for _, d := range in.DeviceIDs {
			v.Checked[d] = true
		}
		if derr := p.saleData(c, caller, v); derr != nil {
			return derr
		}
		for i := range v.AccessoriesBack {
			v.AccessoriesBack[i].Value = typed[v.AccessoriesBack[i].ID]
		}
		status := http.StatusConflict
		if errors.Is(err, apperr.ErrInvalid) {
			status = http.StatusUnprocessableEntity
		}
		p.Site.Render(c, status, "sale", v)
		return nil
	}
	return nil
}

func siteLocation(tz string) *time.Location {
	return zone.Or(tz, time.UTC)
}
