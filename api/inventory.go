package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/inventory/erasurereport"
	"github.com/tremplin/tremplin/partners"
)

// Scanner resolves a scanned code that is not a device (a voucher, say) for
// GET /scan/{code}. It returns apperr.ErrNotFound when the code is not its kind.
type Scanner func(ctx context.Context, c partners.Caller, code string) (kind string, value any, err error)

// Inventory serves the inventory endpoints of /api/v1.
type Inventory struct {
	Service *inventory.Service
	// Scanners are tried, in order, after devices.
	Scanners []Scanner
	// Files are the engine's routes that take uploaded files (the erasure
	// reports' upload is one).
	Files *httpx.FileRoutes
	// Lookups limits the public lookups (certificates) per client address.
	Lookups *httpx.ClientLimiter
}

// PublicRoutes mounts what anyone may ask, without logging in: whether a
// certificate is one Tremplin issued.
func (a *Inventory) PublicRoutes(public *gin.RouterGroup) {
	if a.Lookups == nil || a.Files == nil {
		panic("api.Inventory.Lookups and Files are needed for the public certificate routes")
	}
	a.Files.POST(public, "/certificates/verify", a.Lookups.Middleware(), httpx.Handle(a.verifyCertificate))
	public.GET("/certificates/:code", a.Lookups.Middleware(), httpx.Handle(func(c *gin.Context) error {
		p, err := a.Service.CertificateByCode(c.Request.Context(), c.Param("code"))
		return httpx.OK(c, p, err)
	}))
}

func (a *Inventory) verifyCertificate(c *gin.Context) error {
	files, err := ReadReportFiles(c)
	if err != nil {
		return err
	}
	v, err := a.Service.VerifyCertificate(c.Request.Context(), files[0].Bytes)
	return httpx.OK(c, v, err)
}

// Routes mounts the inventory routes on a group behind RequireAuth.
func (a *Inventory) Routes(r *gin.RouterGroup) {
	r.POST("/donations", create(a.Service.CreateDonation, func(d inventory.DonationView) string { return "/api/v1/donations/" + strconv.FormatInt(d.ID, 10) }))
	r.GET("/donations", withCaller(a.listDonations))
	r.GET("/donations/:id", byID(a.Service.GetDonation))
	r.POST("/donations/:id/devices", withCaller(a.intake))
	r.GET("/donations/:id/erasure-certificate.pdf", withCaller(a.certificate))
	r.POST("/donations/:id/tax-receipt", withCaller(func(c *gin.Context, caller partners.Caller) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		var in inventory.NewTaxReceipt
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		r, err := a.Service.IssueTaxReceipt(c.Request.Context(), caller, id, in)
		if err != nil {
			return err
		}
		return httpx.Created(c, fmt.Sprintf("/api/v1/donations/%d/tax-receipt.pdf", id), r)
	}))
	r.POST("/donations/:id/tax-receipt/cancel", byIDWith(a.Service.CancelTaxReceipt))
	r.GET("/donations/:id/tax-receipt.pdf", withCaller(func(c *gin.Context, caller partners.Caller) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		b, rec, err := a.Service.TaxReceiptPDF(c.Request.Context(), caller, id)
		if err != nil {
			return err
		}
		return httpx.PDF(c, "recu-fiscal-"+rec.Number+".pdf", b)
	}))

	r.POST("/devices", create(a.Service.RegisterDevice, func(d inventory.Device) string { return "/api/v1/devices/" + strconv.FormatInt(d.ID, 10) }))
	r.GET("/devices", withCaller(a.listDevices))
	r.GET("/devices/:id", byID(a.Service.GetDevice))
	r.GET("/devices/:id/events", byID(a.Service.EventList))
	r.POST("/devices/:id/transitions", byIDWith(a.Service.Apply))
	r.GET("/devices/:id/label.pdf", withCaller(a.deviceLabel))
	if a.Files == nil {
		panic("api.Inventory.Files is not set: the engine would refuse every erasure report")
	}
	a.Files.POST(r, "/devices/:id/erasure-reports", withCaller(a.uploadReport))
	r.GET("/devices/:id/erasure-reports", byID(a.Service.ErasureReports))
	r.GET("/devices/:id/erasure-reports/:rid/file", withCaller(a.reportFile))
	// A catch-all, so that an IMEI typed as 35-209900-176148/1 still reaches us.
	r.GET("/scan/*code", withCaller(a.scan))

	r.GET("/label-layouts", withCaller(a.labelLayouts))
	r.POST("/labels", withCaller(a.labels))
	r.GET("/price-grid", withCaller(a.priceGrid))
	r.PUT("/price-grid", withCaller(a.setPriceGrid))
	r.GET("/tag-prefixes", withCaller(a.tagPrefixes))
	r.PUT("/tag-prefixes", withCaller(a.setTagPrefixes))

	r.POST("/sites/:id/stock-checks", withCaller(a.stockCheck))
	r.GET("/sites/:id/stock-checks/:check", withCaller(a.getStockCheck))
	r.POST("/sites/:id/stock-checks/:check/corrections", withCaller(a.correctFromStockCheck))

	r.POST("/transfers", create(a.Service.CreateTransfer, func(t inventory.TransferView) string { return "/api/v1/transfers/" + strconv.FormatInt(t.ID, 10) }))
	r.GET("/transfers", withCaller(a.listTransfers))
	r.GET("/transfers/:id", byID(a.Service.GetTransfer))
	r.POST("/transfers/:id/ship", byID(a.Service.ShipTransfer))
	r.POST("/transfers/:id/receive", byIDWith(a.Service.ReceiveTransfer))
	r.POST("/transfers/:id/cancel", byID(a.Service.CancelTransfer))
	r.GET("/transfers/:id/manifest.pdf", withCaller(a.manifest))
}

func (a *Inventory) listDonations(c *gin.Context, caller partners.Caller) error {
	page, v := httpx.ListQuery(c)
	donor := httpx.QueryID(c, "donor_id", v)
	if err := v.Err(); err != nil {
		return err
	}
	l, err := a.Service.ListDonations(c.Request.Context(), caller, donor, page)
	return httpx.OK(c, l, err)
}

func (a *Inventory) listDevices(c *gin.Context, caller partners.Caller) error {
	page, v := httpx.ListQuery(c)
	f := inventory.DeviceFilter{State: inventory.State(c.Query("state")), Category: inventory.Category(c.Query("category")), Query: c.Query("q"),
		SiteID: httpx.QueryID(c, "site_id", v), DonationID: httpx.QueryID(c, "donation_id", v)}
	if err := v.Err(); err != nil {
		return err
	}
	l, err := a.Service.ListDevices(c.Request.Context(), caller, f, page)
	return httpx.OK(c, l, err)
}

func (a *Inventory) scan(c *gin.Context, caller partners.Caller) error {
	code := strings.TrimPrefix(c.Param("code"), "/")
	d, err := a.Service.FindByCode(c.Request.Context(), caller, code)
	if err == nil {
		c.JSON(http.StatusOK, gin.H{"kind": "device", "device": d})
		return nil
	}
	if !errors.Is(err, apperr.ErrNotFound) {
		return err
	}
	for _, s := range a.Scanners {
		kind, v, serr := s(c.Request.Context(), caller, code)
		if serr == nil {
			c.JSON(http.StatusOK, gin.H{"kind": kind, kind: v})
			return nil
		}
		if !errors.Is(serr, apperr.ErrNotFound) {
			return serr
		}
	}
	return err
}

func (a *Inventory) priceGrid(c *gin.Context, caller partners.Caller) error {
	g, err := a.Service.PriceGrid(c.Request.Context(), caller)
	return httpx.OK(c, g, err)
}

func (a *Inventory) setPriceGrid(c *gin.Context, caller partners.Caller) error {
	if err := caller.Require(partners.RoleAdmin); err != nil {
		return err
	}
	var in map[string]map[string]int64
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	g, err := a.Service.SetPriceGrid(c.Request.Context(), caller, in)
	return httpx.OK(c, g, err)
}

func (a *Inventory) tagPrefixes(c *gin.Context, caller partners.Caller) error {
	if err := caller.Require(inventory.StaffRoles...); err != nil {
		return err
	}
	p, err := a.Service.TagPrefixes(c.Request.Context())
	return httpx.OK(c, p, err)
}

func (a *Inventory) setTagPrefixes(c *gin.Context, caller partners.Caller) error {
	if err := caller.Require(partners.RoleAdmin); err != nil {
		return err
	}
	var in map[string]string
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	p, err := a.Service.SetTagPrefixes(c.Request.Context(), caller, in)
	return httpx.OK(c, p, err)
}

func (a *Inventory) intake(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	if ct := c.ContentType(); ct == "application/json" {
		return apperr.Invalid("Content-Type", "send the file as text/csv (header category,brand,model,serial,imei)")
	}
	if c.Request.ContentLength > inventory.MaxIntakeBytes {
		return fmt.Errorf("a file of %d MB: at most %d MB per intake: %w", c.Request.ContentLength>>20, inventory.MaxIntakeBytes>>20, apperr.ErrTooLarge)
	}
	res, err := a.Service.Intake(c.Request.Context(), caller, id, c.Request.Body)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, res)
	return nil
}

func (a *Inventory) certificate(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	b, err := a.Service.ErasureCertificate(c.Request.Context(), caller, id, httpx.PublicURL(c))
	if err != nil {
		return err
	}
	return httpx.PDF(c, "certificat-effacement-don-"+strconv.FormatInt(id, 10)+".pdf", b)
}

func (a *Inventory) labelLayouts(c *gin.Context, caller partners.Caller) error {
	if err := caller.Require(inventory.StaffRoles...); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": pdfdraw.LabelLayouts})
	return nil
}

func (a *Inventory) deviceLabel(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	req := inventory.LabelRequest{DeviceIDs: []int64{id}, Layout: c.Query("layout")}
	if q := c.Query("qr"); q != "" {
		req.QR, err = strconv.ParseBool(q)
		if err != nil {
			return apperr.Invalid("qr", "must be true or false")
		}
	}
	if _, err := a.Service.GetDevice(c.Request.Context(), caller, id); err != nil {
		return err
	}
	b, err := a.Service.Labels(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	return httpx.PDF(c, "etiquette-"+strconv.FormatInt(id, 10)+".pdf", b)
}

func (a *Inventory) labels(c *gin.Context, caller partners.Caller) error {
	var req inventory.LabelRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		return err
	}
	b, err := a.Service.Labels(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	return httpx.PDF(c, "etiquettes.pdf", b)
}

func (a *Inventory) stockCheck(c *gin.Context, caller partners.Caller) error {
	site, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Codes       []string               `json:"codes"`
		Accessories []accessories.Quantity `json:"accessories"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := a.Service.CheckStock(c.Request.Context(), caller, site, in.Codes, in.Accessories...)
	if err != nil {
		return err
	}
	return httpx.Created(c, "/api/v1/sites/"+strconv.FormatInt(site, 10)+"/stock-checks/"+strconv.FormatInt(res.ID, 10), res)
}

func (a *Inventory) correctFromStockCheck(c *gin.Context, caller partners.Caller) error {
	site, id, err := pathIDs(c, "id", "check")
	if err != nil {
		return err
	}
	var in struct {
		AccessoryID int64  `json:"accessory_id"`
		Reason      string `json:"reason"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	m, err := a.Service.CorrectFromStockCheck(c.Request.Context(), caller, site, id, in.AccessoryID, in.Reason)
	if err != nil {
		return err
	}
	return httpx.Created(c, "/api/v1/sites/"+strconv.FormatInt(site, 10)+"/stock-checks/"+strconv.FormatInt(id, 10), m)
}

func (a *Inventory) getStockCheck(c *gin.Context, caller partners.Caller) error {
	site, id, err := pathIDs(c, "id", "check")
	if err != nil {
		return err
	}
	res, err := a.Service.GetStockCheck(c.Request.Context(), caller, site, id)
	return httpx.OK(c, res, err)
}

func (a *Inventory) listTransfers(c *gin.Context, caller partners.Caller) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	l, err := a.Service.ListTransfers(c.Request.Context(), caller, c.Query("status"), page)
	return httpx.OK(c, l, err)
}

func (a *Inventory) manifest(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	b, err := a.Service.Manifest(c.Request.Context(), caller, id)
	if err != nil {
		return err
	}
	return httpx.PDF(c, "bon-de-livraison-"+strconv.FormatInt(id, 10)+".pdf", b)
}

// ReadReportFiles reads the report files of a multipart form (field file,
// one or more), each whole: a report is at most erasurereport.MaxBytes.
func ReadReportFiles(c *gin.Context) ([]inventory.ReportFile, error) {
	if !httpx.IsMultipart(c.Request) {
		return nil, apperr.Invalid("file", "send the report as multipart/form-data, in the field file")
	}
	if err := httpx.ReadMultipart(c, httpx.FormLimits{MaxBytes: 4 * erasurereport.MaxBytes, InMemory: 1 << 20}); err != nil {
		return nil, err
	}
	return ReportFiles(c)
}

// ReportFiles are the report files of a form already read (field file).
func ReportFiles(c *gin.Context) ([]inventory.ReportFile, error) {
	var out []inventory.ReportFile
	for _, u := range httpx.FormFiles(c, "file") {
		if u.Size > erasurereport.MaxBytes {
			return nil, fmt.Errorf("report %s of %d MB: at most %d MB: %w", u.Filename, u.Size>>20, erasurereport.MaxBytes>>20, apperr.ErrTooLarge)
		}
		r, err := u.Open()
		if err != nil {
			return nil, fmt.Errorf("read report %s: %w", u.Filename, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read report %s: %w", u.Filename, err)
		}
		out = append(out, inventory.ReportFile{Name: u.Filename, Bytes: b})
	}
	if len(out) == 0 {
		return nil, apperr.Invalid("file", "choose the report file written by the erasure tool")
	}
	return out, nil
}

func (a *Inventory) uploadReport(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	files, err := ReadReportFiles(c)
	if err != nil {
		return err
	}
	if len(files) > 1 {
		return apperr.Invalid("file", "one report per device: send the donation's reports from its page")
	}
	r, err := a.Service.UploadErasureReport(c.Request.Context(), caller, id, files[0])
	if err != nil {
		return err
	}
	return httpx.Created(c, fmt.Sprintf("/api/v1/devices/%d/erasure-reports/%d", id, r.ID), r)
}

func (a *Inventory) reportFile(c *gin.Context, caller partners.Caller) error {
	id, rid, err := pathIDs(c, "id", "rid")
	if err != nil {
		return err
	}
	r, err := a.Service.ErasureReportFile(c.Request.Context(), caller, id, rid)
	if err != nil {
		return err
	}
	c.Header("X-Content-SHA256", r.SHA256)
	httpx.SendFile(c, r.Filename, "application/octet-stream", r.Content, false)
	return nil
}
