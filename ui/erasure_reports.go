package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/inventory/erasurereport"
)

// deviceReport records the erasure report uploaded from a device's panel
// (its page or the station) and goes back with what it proved.
func (p *Inventory) deviceReport(c *gin.Context, caller partners.Caller) error {
	d, err := p.Service.FindByCode(c.Request.Context(), caller, c.Param("tag"))
	if err != nil {
		return err
	}
	back := c.PostForm("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
		back = "/appareils/" + url.PathEscape(d.Tag)
	}
	l := p.lang(c)
	err = once(p.Site, c, "", func() (string, error) {
		files, err := api.ReportFiles(c)
		if err != nil {
			return "", err
		}
		if len(files) > 1 {
			return "", apperr.Invalid("file", "one report per device: send the donation's reports from its page")
		}
		r, err := p.Service.UploadErasureReport(c.Request.Context(), caller, d.ID, files[0])
		if err != nil {
			return "", err
		}
		web.Flash(c, reportSaid(l, d.Tag, r.ErasureReport), r.Result != erasurereport.Passed)
		return back, nil
	})
	if err != nil {
		if errors.Is(err, apperr.ErrInvalid) || errors.Is(err, apperr.ErrConflict) || errors.Is(err, apperr.ErrTooLarge) {
			web.Flash(c, l.T("%s: not done.", d.Tag)+" "+i18n.Sentence(web.Say(l, err)), true)
			c.Redirect(http.StatusSeeOther, back)
			return nil
		}

		return err
	}
	return nil
}

// reportSaid is the status line after a report: what it proved.
func reportSaid(l i18n.Lang, tag string, r inventory.ErasureReport) string {
	if r.Result == erasurereport.Passed {
		return l.T("%s: erasure passed, proven by the %s report (%s).", tag, r.Tool, r.Method)
	}
	return l.T("%s: the %s report says the erasure failed; recorded, the device stays diagnosed.", tag, r.Tool)
}

// donationReports records several reports at once for a donation's
// devices and shows what matched nothing.
func (p *Inventory) donationReports(c *gin.Context, caller partners.Caller, id int64) error {
	l := p.lang(c)
	var res inventory.DonationReportResult
	to, repeated, err := p.Site.Once(c, func() (string, error) {
		files, err := api.ReportFiles(c)
		if err != nil {
			return "", err
		}
		if res, err = p.Service.UploadDonationReports(c.Request.Context(), caller, id, files); err != nil {
			return "", err
		}
		web.Flash(c, l.TN(int64(len(res.Recorded)), "%d erasures recorded from the reports.", len(res.Recorded)), false)
		return "/dons/" + strconv.FormatInt(id, 10), nil
	})
	if err != nil {
		return p.donationRefused(c, caller, id, url.Values{}, err, true)
	}
	if repeated || len(res.Skipped) == 0 {
		p.Site.Done(c, to, repeated, "")
		return nil
	}
	// What matched nothing is shown on the page, not lost in a message.
	v := &donationView{}
	if err := p.donationPage(c, caller, id, v); err != nil {
		return err
	}
	v.ReportsDone = len(res.Recorded)
	for _, s := range res.Skipped {
		v.Skipped = append(v.Skipped, skippedLine{File: s.File, Serial: s.Serial, Reason: l.T(s.Key, s.Args...)})
	}
	p.Site.Render(c, http.StatusOK, "donation", v)
	return nil
}

// skippedLine is a report's entry that recorded nothing, said.
type skippedLine struct{ File, Serial, Reason string }

// reportFile sends a report's file as uploaded.
func (p *Inventory) reportFile(c *gin.Context, caller partners.Caller) error {
	d, err := p.Service.FindByCode(c.Request.Context(), caller, c.Param("tag"))
	if err != nil {
		return err
	}
	rid, err := httpx.PathID(c, "rid")
	if err != nil {
		return err
	}
	r, err := p.Service.ErasureReportFile(c.Request.Context(), caller, d.ID, rid)
	if err != nil {
		return err
	}
	httpx.SendFile(c, r.Filename, "application/octet-stream", r.Content, false)
	return nil
}

// certificateView is a certificate's public page.
type certificateView struct {
	web.Page
	Certificate inventory.PublicCertificate
	Categories  map[string]int
}

// publicCertificate shows what an issued certificate says, to anyone who
// has its code (the QR code printed on it): no login, no person, no serial.
func (p *Inventory) publicCertificate(c *gin.Context) error {
	cert, err := p.Service.CertificateByCode(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	p.Site.Render(c, http.StatusOK, "certificate", &certificateView{Certificate: cert})
	return nil
}
