package inventory

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// receptionView is a shipped transfer being received: what was scanned so
// far against what it carries.
type receptionView struct {
	web.Page
	Transfer  TransferView
	From      string
	Codes     []string
	Received  int
	ScanError string
	Added     string
	// Missing is how many devices were not scanned when finish was asked:
	// the page asks to confirm before reporting them missing.
	Missing int
}

// noteCode is the code printed on a transfer's delivery note (T-000042).
var noteCode = regexp.MustCompile(`^T-?[0-9]{6}$`)

// reception fills the view of a transfer the caller's site receives.
func (p *Pages) reception(c *gin.Context, caller partners.Caller, v *receptionView) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if v.Transfer, err = p.Service.GetTransfer(c.Request.Context(), caller, id); err != nil {
		return err
	}
	if caller.CheckSite(v.Transfer.ToSiteID) != nil {
		return fmt.Errorf("transfer %d: %w", id, apperr.ErrNotFound)
	}
	if site, err := p.Partners.Site(c.Request.Context(), v.Transfer.FromSiteID); err == nil {
		v.From = site.Name
	}
	return nil
}

func (p *Pages) receptionPage(c *gin.Context) {
	v := &receptionView{}
	p.show(c, "reception", v, func(caller partners.Caller) error { return p.reception(c, caller, v) })
}

// receive counts a scanned code against the transfer, takes one out, or
// finishes: what was scanned goes on the shelves, the rest is missing.
func (p *Pages) receive(c *gin.Context) {
	f := c.Request.PostForm
	v := &receptionView{}
	caller, ok := p.prepare(c, func(caller partners.Caller) error { return p.reception(c, caller, v) })
	if !ok {
		return
	}
	l := p.lang(c)
	v.Codes = f["scanned"]
	onTransfer := func(code string) (string, bool) {
		d, err := p.Service.FindByCode(c.Request.Context(), caller, code)
		if err != nil {
			return NormalizeCode(code), false
		}
		return d.Tag, slices.ContainsFunc(v.Transfer.Devices, func(it TransferItem) bool { return it.ID == d.ID })
	}
	received := func() int {
		n := 0
		for _, code := range v.Codes {
			if _, ok := onTransfer(code); ok {
				n++
			}
		}
		return n
	}
	switch {
	case f.Get("op") == "finish" && f.Get("confirm") == "" && received() < len(v.Transfer.Devices):
		// Devices not scanned are reported missing for good: asked first.
		v.Received = received()
		v.Missing = len(v.Transfer.Devices) - v.Received
		p.Site.Render(c, http.StatusOK, "reception", v)
		return
	case f.Get("op") == "finish":
		id := v.Transfer.ID
		to, repeated, err := p.Site.Once(c, func() (string, error) {
			_, err := p.Service.ReceiveTransfer(c.Request.Context(), caller, id, Scanned{Codes: v.Codes})
			return "/transferts/" + strconv.FormatInt(id, 10), err
		})
		if err != nil {
			if errorsIsConflict(err) {
				v.ScanError = web.Say(l, err)
				p.Site.Render(c, http.StatusConflict, "reception", v)
				return
			}
			p.Site.Fail(c, err)
			return
		}
		p.Site.Done(c, to, repeated, l.T("Reception recorded: what was scanned is on the shelves."))
		return
	case f.Get("remove") != "":
		v.Codes = slices.DeleteFunc(v.Codes, func(s string) bool { return s == f.Get("remove") })
	default:
		code := f.Get("code")
		if noteCode.MatchString(NormalizeCode(code)) {
			v.ScanError = l.T("This is the delivery note's code: scan the devices themselves.")
			break
		}
		tag, ok := onTransfer(code)
		switch {
		case tag == "":
		case slices.Contains(v.Codes, tag):
			v.ScanError = l.T("%s was already scanned.", tag)
		case !ok:
			v.Codes = append(v.Codes, tag)
			v.ScanError = l.T("%s is not on this transfer: it will be reported as unexpected.", tag)
		default:
			v.Codes = append(v.Codes, tag)
			v.Added = tag
		}
	}
	v.Received = received()
	p.Site.Render(c, http.StatusOK, "reception", v)
}
