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
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

type donationsView struct {
	web.Page
	formView
	Donations  []inventory.Donation
	Donors     map[int64]string
	DonorList  []partners.Organization
	Warehouses []partners.Organization
	OwnSite    int64
	// Donor, when the list is one donor's (its pack: each donation's
	// certificate and, for admins, its tax receipt).
	Donor    int64
	Admin    bool
	Receipts map[int64]inventory.TaxReceipt
}

// donations lists the donations received (newest first) and offers to
// record one.
func (p *Inventory) donations(c *gin.Context, caller partners.Caller) error {
	v := &donationsView{}
	v.Form = url.Values{}
	return p.show(c, "donations", v, p.donationsPage(c, caller, v))
}

func (p *Inventory) donationsPage(c *gin.Context, caller partners.Caller, v *donationsView) error {
	verr := &apperr.ValidationError{}
	v.Donor = idIn(c.Request.URL.Query(), "donateur", verr)
	if err := verr.Err(); err != nil {
		return err
	}
	l, err := p.Service.ListDonations(c.Request.Context(), caller, v.Donor, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	v.Donations = l.Items
	slices.Reverse(v.Donations)
	if v.Admin = caller.IsAdmin(); v.Admin && v.Donor != 0 {
		ids := make([]int64, len(v.Donations))
		for i, d := range v.Donations {
			ids[i] = d.ID
		}
		if v.Receipts, err = p.Service.IssuedReceipts(c.Request.Context(), caller, ids); err != nil {
			return err
		}
	}
	if v.Donors, v.DonorList, err = p.siteNames(c, caller, partners.KindDonor); err != nil {
		return err
	}
	if _, v.Warehouses, err = p.siteNames(c, caller, partners.KindWarehouse); err != nil {
		return err
	}
	v.OwnSite, _ = caller.SiteID()
	return nil
}

func (p *Inventory) createDonation(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	verr := &apperr.ValidationError{}
	in := inventory.NewDonation{DonorID: idIn(f, "donor_id", verr), WarehouseID: idIn(f, "warehouse_id", verr)}
	if own, ok := caller.SiteID(); ok && in.WarehouseID == 0 {
		in.WarehouseID = own
	}
	note := f.Get("note")
	in.Note = &note
	err := once(p.Site, c, "Donation recorded: now scan its devices.", func() (string, error) {
		if err := verr.Err(); err != nil {
			return "", err
		}
		d, err := p.Service.CreateDonation(c.Request.Context(), caller, in)
		return "/dons/" + strconv.FormatInt(d.ID, 10), err
	})
	if err != nil {
		v := &donationsView{}
		if perr := p.donationsPage(c, caller, v); perr != nil {
			return perr
		}
		v.Form = f
		return reshow(p.Site, c, "donations", v, err)
	}
	return nil
}

type donationView struct {
	web.Page
	formView
	Donation   inventory.DonationView
	Devices    []inventory.Device
	More       bool
	States     []inventory.State
	Categories []string
	// Lines are the bad lines of an uploaded file.
	Lines      []string
	FileErrors []string
	PrintCount int
	// After several erasure reports: how many erasures they recorded, and
	// the entries that matched nothing.
	ReportsDone int
	Skipped     []skippedLine
	// The tax receipts, for admins: Receipts newest first; Receipting when
	// the network issues them; the receipt form's values and errors.
	Admin         bool
	Receipting    bool
	Receipts      []inventory.TaxReceipt
	Issued        *inventory.TaxReceipt
	ReceiptForm   url.Values
	ReceiptErrors map[string]string
	ReceiptAll    []string
}

// donation is a donation's page: its devices and their counts by state,
// intake by scanning, the file upload, the erasure certificate.
func (p *Inventory) donation(c *gin.Context, caller partners.Caller, id int64) error {
	v := &donationView{}
	v.Form = url.Values{"category": {c.Query("category")}, "brand": {c.Query("brand")}, "model": {c.Query("model")}}
	return p.show(c, "donation", v, p.donationPage(c, caller, id, v))
}

func (p *Inventory) donationPage(c *gin.Context, caller partners.Caller, id int64, v *donationView) error {
	var err error
	if v.Donation, err = p.Service.GetDonation(c.Request.Context(), caller, id); err != nil {
		return err
	}
	if caller.IsAdmin() {
		v.Admin = true
		net, err := p.Partners.NetworkIdentity(c.Request.Context())
		if err != nil {
			return err
		}
		v.Receipting = net.TaxReceipts
		if v.Receipts, err = p.Service.TaxReceipts(c.Request.Context(), caller, id); err != nil {
			return err
		}
		for i := range v.Receipts {
			if v.Receipts[i].Status == inventory.ReceiptIssued {
				v.Issued = &v.Receipts[i]
			}
		}
		if v.ReceiptForm == nil {
			v.ReceiptForm = url.Values{}
		}
	}
	l, err := p.Service.ListDevices(c.Request.Context(), caller, inventory.DeviceFilter{DonationID: id}, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	v.Devices, v.More = l.Items, l.NextCursor != nil
	slices.Reverse(v.Devices)
	for _, s := range inventory.States {
		if v.Donation.Counts[s] > 0 {
			v.States = append(v.States, s)
		}
	}
	v.Categories = categoryNames()
	v.PrintCount = len(readPrintList(c))
	return nil
}

// intakeOne registers one scanned IMEI or serial with the category, brand
// and model chosen once; they stay for the next scan.
func (p *Inventory) intakeOne(c *gin.Context, caller partners.Caller, id int64) error {
	f := c.Request.PostForm
	f.Set("donation_id", strconv.FormatInt(id, 10))
	nd, verr := deviceFromForm(f)
	l := p.lang(c)
	if strings.TrimSpace(f.Get("code")) == "" {
		verr.Field("code", "scan or type the IMEI or the serial number")
	}
	err := once(p.Site, c, "", func() (string, error) {
		if err := verr.Err(); err != nil {
			return "", err
		}
		d, err := p.Service.RegisterDevice(c.Request.Context(), caller, nd)
		if err != nil {
			return "", err
		}
		msg := l.T("%s registered.", d.Tag)
		if f.Get("print") != "" {
			// Printed at once, from the page the scanner stays on.
			web.PrintNext(c, "/appareils/"+url.PathEscape(d.Tag)+"/etiquette.pdf")
			msg = l.T("%s registered: its label is printing.", d.Tag)
		}
		web.Flash(c, msg, false)
		q := url.Values{"category": {string(nd.Category)}, "brand": {strings.TrimSpace(nd.Brand)}, "model": {strings.TrimSpace(nd.Model)}}
		return "/dons/" + strconv.FormatInt(id, 10) + "?" + q.Encode(), nil
	})
	if err != nil {
		return p.donationRefused(c, caller, id, f, err, false)
	}
	return nil
}

// intakeFile registers every device of an uploaded CSV, all or nothing;
// every bad line is listed.
func (p *Inventory) intakeFile(c *gin.Context, caller partners.Caller, id int64) error {
	l := p.lang(c)
	err := once(p.Site, c, "", func() (string, error) {
		fh, ok := httpx.FormFile(c, "file")
		if !ok {
			return "", apperr.Invalid("file", "choose a CSV file (header category,brand,model,serial,imei)")
		}
		if fh.Size > inventory.MaxIntakeBytes {
			return "", apperr.Invalid("file", "at most %d MB per file", inventory.MaxIntakeBytes>>20)
		}
		file, err := fh.Open()
		if err != nil {
			return "", apperr.Invalid("file", "the file could not be read; send it again")
		}
		res, err := p.Service.Intake(c.Request.Context(), caller, id, file)
		if err != nil {
			return "", err
		}
		ids := make([]int64, len(res.Devices))
		for i, d := range res.Devices {
			ids[i] = d.ID
		}
		msg := l.TN(int64(res.Imported), "%d devices registered from the file.", res.Imported)
		if c.PostForm("print") != "" {
			addToPrintList(c, ids...)
			msg = l.TN(int64(res.Imported), "%d devices registered from the file and put on the print list.", res.Imported)
		}
		web.Flash(c, msg, false)
		return "/dons/" + strconv.FormatInt(id, 10), nil
	})
	if err != nil {
		return p.donationRefused(c, caller, id, url.Values{}, err, true)
	}
	return nil
}

// donationRefused draws the donation's page again with what was refused:
// the typed values and their errors, or an uploaded file's bad lines.
func (p *Inventory) donationRefused(c *gin.Context, caller partners.Caller, id int64, form url.Values, err error, file bool) error {
	v := &donationView{}
	if perr := p.donationPage(c, caller, id, v); perr != nil {
		return perr
	}
	v.Form = form
	l := p.lang(c)
	shown := false
	switch ve, isList := errors.AsType[*apperr.ValidationError](err); {
	case !file:
		shown = v.fail(l, err)
	case isList:
		for _, e := range ve.Listed() {
			v.Lines = append(v.Lines, web.SayField(l, e))
		}
		shown = true
	case errors.Is(err, apperr.ErrConflict), errors.Is(err, apperr.ErrTooLarge), errors.Is(err, apperr.ErrMalformed):
		v.FileErrors, shown = []string{web.Say(l, err)}, true
	}
	if !shown {
		return err
	}
	p.Site.Render(c, http.StatusUnprocessableEntity, "donation", v)
	return nil
}

func (p *Inventory) certificate(c *gin.Context, caller partners.Caller, id int64) error {
	b, err := p.Service.ErasureCertificate(c.Request.Context(), caller, id, httpx.PublicURL(c))
	return p.pdf(c, "certificat-effacement-don-"+strconv.FormatInt(id, 10)+".pdf", b, err)
}
