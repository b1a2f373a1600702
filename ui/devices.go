package ui

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

type devicesView struct {
	web.Page
	Devices    []inventory.Device
	Sites      map[int64]string
	SiteList   []partners.Organization
	States     []string
	Categories []string
	Filter     url.Values
	Next       string
}

// devices lists and filters the devices the caller may see.
func (p *Inventory) devices(c *gin.Context, caller partners.Caller) error {
	pg, err := pageList(c, 100)
	if err != nil {
		return err
	}
	v := &devicesView{States: stateNames(), Categories: categoryNames(), Filter: c.Request.URL.Query()}
	verr := &apperr.ValidationError{}
	f := inventory.DeviceFilter{State: inventory.State(c.Query("etat")), Category: inventory.Category(c.Query("categorie")), Query: c.Query("q"),
		SiteID: idIn(v.Filter, "site", verr), DonationID: idIn(v.Filter, "don", verr)}
	if err := verr.Err(); err != nil {
		return err
	}
	l, err := p.Service.ListDevices(c.Request.Context(), caller, f, pg)
	if err != nil {
		return err
	}
	v.Devices, v.Next = l.Items, nextLink("/appareils", v.Filter, l.NextCursor)
	v.Sites, v.SiteList, err = p.siteNames(c, caller, partners.KindWarehouse, partners.KindSpace)
	return p.show(c, "devices", v, err)
}

type deviceDetailView struct {
	web.Page
	deviceView
}

// device is a device's page: its facts, what can be done, its whole
// history.
func (p *Inventory) device(c *gin.Context, caller partners.Caller) error {
	d, err := p.Service.FindByCode(c.Request.Context(), caller, c.Param("tag"))
	if err != nil {
		return err
	}
	v := &deviceDetailView{}
	v.Back = "/appareils/" + url.PathEscape(d.Tag)
	v.Open = c.Query("ouvrir")
	if err := p.load(c, caller, &v.deviceView, d, 0); err != nil {
		return err
	}
	don, err := p.Service.GetDonation(c.Request.Context(), caller, d.DonationID)
	switch {
	case err == nil:
		v.Donor = don.Donor
	case errors.Is(err, apperr.ErrNotFound) || errors.Is(err, apperr.ErrForbidden):
		// a space sees its device, not the warehouse's donation
	default:
		return err
	}
	return p.show(c, "device", v, nil)
}

func (p *Inventory) deviceLabel(c *gin.Context, caller partners.Caller) error {
	d, err := p.Service.FindByCode(c.Request.Context(), caller, c.Param("tag"))
	if err != nil {
		return err
	}
	layout := c.Query("layout")
	if layout == "" {
		layout = p.siteLayout(c, caller) // the site's printer, else one label a page
	}
	b, err := p.Service.Labels(c.Request.Context(), caller, inventory.LabelRequest{DeviceIDs: []int64{d.ID}, Layout: layout})
	return p.pdf(c, "etiquette-"+d.Tag+".pdf", b, err)
}

// register records the unknown IMEI or serial the station offered to
// register, then shows the new device at the station.
func (p *Inventory) register(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	nd, verr := deviceFromForm(f)
	err := once(p.Site, c, "", func() (string, error) {
		if err := verr.Err(); err != nil {
			return "", err
		}
		d, err := p.Service.RegisterDevice(c.Request.Context(), caller, nd)
		if err != nil {
			return "", err
		}
		web.Flash(c, p.lang(c).T("%s registered: write or stick its label on it.", d.Tag), false)
		return "/poste?code=" + url.QueryEscape(d.Tag), nil
	})
	if err != nil {
		v := &stationView{Code: f.Get("code"), Commands: inventory.Commands, PrintCount: len(readPrintList(c))}
		v.Back = "/poste"
		if _, rerr := p.resolve(c, caller, v); rerr != nil {
			return rerr
		}
		v.Form = f
		return reshow(p.Site, c, "station", v, err)
	}
	return nil
}

// deviceFromForm reads a device typed in a form; code is an IMEI when it
// is one, a serial otherwise.
func deviceFromForm(f url.Values) (inventory.NewDevice, *apperr.ValidationError) {
	v := &apperr.ValidationError{}
	nd := inventory.NewDevice{Category: inventory.Category(f.Get("category")), Brand: f.Get("brand"), Model: f.Get("model")}
	if s := strings.TrimSpace(f.Get("donation_id")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			v.Field("donation_id", "is required")
		}
		nd.DonationID = id
	}
	code := strings.TrimSpace(f.Get("code"))
	// Fifteen digits are an IMEI, checked as one (a misread check digit
	// is refused rather than kept as a serial).
	if imei := inventory.NormalizeIMEI(code); len(imei) == 15 && strings.Trim(imei, "0123456789") == "" {
		nd.IMEI = &imei
	} else if code != "" {
		nd.Serial = &code
	}
	return nd, v
}
