package ui

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/recharges"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// Recharges is the recharge catalogue's web UI: products (admins), batches of
// PINs imported from an operator's file (admins and warehouse staff), and
// the operator's monthly sold report (admins).
type Recharges struct {
	Service  *recharges.Service
	Partners *partners.Service
	Site     *web.Site
	Session  gin.HandlerFunc
}

// Routes mounts the pages.
func (p *Recharges) Routes(r gin.IRouter) {
	g := r.Group("", p.Session, api.Allow(recharges.WarehouseRoles...))
	g.GET("/recharges", withCaller(p.catalogue))
	g.POST("/recharges", withCaller(p.createProduct))
	g.GET("/recharges/vendues.csv", withCaller(p.soldReport))
	p.Site.Upload(g, "/recharges/lot", withCaller(p.importBatch))
	admin := g.Group("", api.Allow(partners.RoleAdmin))
	admin.GET("/recharges/:id", withRecord(p.product))
	admin.POST("/recharges/:id", withRecord(p.saveProduct))
	admin.POST("/recharges/:id/seuils", withRecord(p.saveThresholds))
}

// Menu is what the recharge pages offer a caller.
func (p *Recharges) Menu(c partners.Caller) []web.Link {
	if !c.Is(recharges.WarehouseRoles...) {
		return nil
	}
	return []web.Link{{ID: "recharges", Label: "Recharges", Href: "/recharges"}}
}

type catalogueView struct {
	web.Page
	Products  []recharges.Product
	Operators map[int64]string
	OpList    []partners.Organization
	Sites     []partners.Organization
	Available map[int64]int64 // units sellable today, every site together
	IsAdmin   bool
	// The three forms: a new product, a batch, the report.
	formView
	Batch       url.Values
	BatchErrors []string
	// Lines are the bad lines of a refused file, each with its problem.
	Lines []LineProblem
	Month string
}

// LineProblem is one bad line of an operator file, said to a person.
type LineProblem struct {
	Line    int
	Problem string
}

func (p *Recharges) catalogueView(c *gin.Context, caller partners.Caller) (*catalogueView, error) {
	ctx := c.Request.Context()
	v := &catalogueView{Operators: map[int64]string{}, Available: map[int64]int64{}, IsAdmin: caller.IsAdmin(),
		formView: formView{Form: url.Values{}}, Batch: url.Values{}, Month: time.Now().In(time.UTC).AddDate(0, -1, 0).Format("2006-01")}
	l, err := p.Service.ListProducts(ctx, caller, 0, paging.Page{Limit: 500})
	if err != nil {
		return nil, err
	}
	v.Products = l.Items
	// Active first, then by operator and face value.
	slices.SortStableFunc(v.Products, func(a, b recharges.Product) int {
		if a.Active != b.Active {
			if a.Active {
				return -1
			}
			return 1
		}
		return int(a.FaceValueCents - b.FaceValueCents)
	})
	ops, err := p.Partners.ListOrganizations(ctx, caller, partners.OrganizationFilter{Kind: partners.KindOperator}, paging.Page{Limit: 500})
	if err != nil {
		return nil, err
	}
	v.OpList = ops.Items
	for _, o := range ops.Items {
		v.Operators[o.ID] = o.Name
	}
	for _, kind := range []partners.Kind{partners.KindWarehouse, partners.KindSpace} {
		sites, err := p.Partners.ListOrganizations(ctx, caller, partners.OrganizationFilter{Kind: kind}, paging.Page{Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, s := range sites.Items {
			if s.Active && (caller.IsAdmin() || s.ID == caller.OrganizationID) {
				v.Sites = append(v.Sites, s)
			}
		}
	}
	// The cards sellable today, from the available cards alone: this page
	// is opened every day, and must not read the cards sold over the years.
	stock, err := p.Service.Shelves(ctx, caller, 0)
	if err != nil {
		return nil, err
	}
	for _, s := range stock {
		v.Available[s.ProductID] += s.Available
	}
	if own, ok := caller.SiteID(); ok {
		v.Batch.Set("site_id", strconv.FormatInt(own, 10))
	}
	return v, nil
}

// catalogue lists the products with their stock, and offers the forms.
func (p *Recharges) catalogue(c *gin.Context, caller partners.Caller) error {
	v, err := p.catalogueView(c, caller)
	if err != nil {
		return err
	}
	v.Form.Set("low_stock_threshold", "10")
	p.Site.Render(c, http.StatusOK, "recharges", v)
	return nil
}

// eurosField reads a typed amount into cents for a field; a bad one is said
// next to it.
func eurosField(f url.Values, name string, bad *apperr.ValidationError) *int64 {
	s := strings.TrimSpace(f.Get(name))
	if s == "" {
		return nil
	}
	cents, ok := money.Parse(s)
	if !ok {
		bad.Field(name, "write an amount in euros, such as 10 or 9,50")
		return nil
	}
	return &cents
}

// whole reads a whole number for a field; "" is nil.
func whole(f url.Values, name string, bad *apperr.ValidationError) *int {
	s := strings.TrimSpace(f.Get(name))
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		bad.Field(name, "a whole number is expected")
		return nil
	}
	return &n
}

func (p *Recharges) createProduct(c *gin.Context, caller partners.Caller) error {
	v, err := p.catalogueView(c, caller)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	bad := &apperr.ValidationError{}
	in := recharges.NewProduct{Name: f.Get("name"), PriceCents: eurosField(f, "price_cents", bad),
		ValidityDays: whole(f, "validity_days", bad), LowStockThreshold: whole(f, "low_stock_threshold", bad)}
	if face := eurosField(f, "face_value_cents", bad); face != nil {
		in.FaceValueCents = *face
	}
	if op, perr := strconv.ParseInt(f.Get("operator_id"), 10, 64); perr == nil {
		in.OperatorID = op
	} else {
		bad.Field("operator_id", "choose the operator")
	}
	v.Form = f
	return submit(p.Site, c, "recharges", v, bad.Err(), "The product is created. Import its first cards below.", func() (string, error) {
		pr, err := p.Service.CreateProduct(c.Request.Context(), caller, in)
		return "/recharges/" + strconv.FormatInt(pr.ID, 10), err
	})
}

// importBatch stores an operator file's cards at a site: all or nothing,
// every bad line shown in a table.
func (p *Recharges) importBatch(c *gin.Context, caller partners.Caller) error {
	v, err := p.catalogueView(c, caller)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	l := p.Site.Lang(c)
	bad := &apperr.ValidationError{}
	product, perr := strconv.ParseInt(f.Get("product_id"), 10, 64)
	if perr != nil {
		bad.Field("product_id", "choose the product")
	}
	site, serr := strconv.ParseInt(f.Get("site_id"), 10, 64)
	if serr != nil {
		bad.Field("site_id", "choose the site")
	}
	err = bad.Err()
	if err == nil {
		err = once(p.Site, c, "", func() (string, error) {
			fh, ok := httpx.FormFile(c, "file")
			if !ok {
				return "", apperr.Invalid("file", "choose the operator's CSV file (header serial,pin,expires_on)")
			}
			if fh.Size > api.MaxRechargeFile {
				return "", fmt.Errorf("a file of %d MB: %w", fh.Size>>20, apperr.ErrTooLarge)
			}
			file, err := fh.Open()
			if err != nil {
				return "", apperr.Invalid("file", "the file could not be read; send it again")
			}
			res, err := p.Service.Import(c.Request.Context(), caller, product, site, file, nil)
			if err != nil {
				return "", err
			}
			web.Flash(c, l.TN(int64(res.Imported), "%d cards imported.", res.Imported), false)
			return "/recharges", nil
		})
	}
	if err == nil {
		return nil
	}
	// The batch's refusal: each bad line of the file in the table, the
	// rest above the form.
	v.Batch = f
	var ve *apperr.ValidationError
	if errors.As(err, &ve) && slices.ContainsFunc(ve.Errors, func(e apperr.FieldError) bool { return e.Line > 0 }) {
		for _, e := range ve.Errors {
			if e.Line == 0 { // the file as a whole (its header, "and N more")
				v.BatchErrors = append(v.BatchErrors, web.SayField(l, e))
				continue
			}
			line := e.Line
			e.Line = 0
			v.Lines = append(v.Lines, LineProblem{Line: line, Problem: web.SayField(l, e)})
		}
	} else {
		_, all, ok := web.Refusal(l, err)
		if !ok {
			return err
		}
		v.BatchErrors = all
	}
	p.Site.Render(c, http.StatusUnprocessableEntity, "recharges", v)
	return nil
}

// soldReport downloads an operator's sold cards of a month (no PINs), the
// file the operator bills from.
func (p *Recharges) soldReport(c *gin.Context, caller partners.Caller) error {
	op, err := strconv.ParseInt(c.Query("operator_id"), 10, 64)
	if err != nil {
		return apperr.Invalid("operator_id", "choose the operator")
	}
	var buf bytes.Buffer
	month := c.Query("month")
	if err := p.Service.SoldReport(c.Request.Context(), caller, op, month, &buf); err != nil {
		return err
	}
	body, err := p.Site.Spreadsheet(c, buf.Bytes())
	if err != nil {
		return err
	}
	httpx.SendFile(c, fmt.Sprintf("recharges-vendues-%d-%s.csv", op, month), "text/csv; charset=utf-8", body, false)
	return nil
}

type productView struct {
	web.Page
	Product  recharges.Product
	Operator string
	Stock    []recharges.StockLine
	formView
}

func (p *Recharges) productView(c *gin.Context, caller partners.Caller, id int64) (*productView, error) {
	ctx := c.Request.Context()
	product, err := p.Service.GetProduct(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	op, err := p.Partners.GetOrganization(ctx, caller, product.OperatorID)
	if err != nil {
		return nil, err
	}
	all, err := p.Service.Stock(ctx, caller, 0, false)
	if err != nil {
		return nil, err
	}
	v := &productView{Product: product, Operator: op.Name}
	for _, s := range all {
		if s.ProductID == id {
			v.Stock = append(v.Stock, s)
		}
	}
	l := p.Site.Lang(c)
	v.Form = url.Values{"name": {product.Name}, "price_cents": {money.Input(product.PriceCents, l == i18n.French)},
		"low_stock_threshold": {strconv.Itoa(product.LowStockThreshold)}}
	if product.ValidityDays != nil {
		v.Form.Set("validity_days", strconv.Itoa(*product.ValidityDays))
	}
	if product.Active {
		v.Form.Set("active", "1")
	}
	return v, nil
}

// product is a product's page: its settings and each site's stock and
// threshold.
func (p *Recharges) product(c *gin.Context, caller partners.Caller, id int64) error {
	v, err := p.productView(c, caller, id)
	if err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "recharge_product", v)
	return nil
}

func (p *Recharges) saveProduct(c *gin.Context, caller partners.Caller, id int64) error {
	v, err := p.productView(c, caller, id)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	bad := &apperr.ValidationError{}
	name, active := f.Get("name"), f.Get("active") == "1"
	in := recharges.ProductPatch{Name: &name, PriceCents: eurosField(f, "price_cents", bad), ValidityDays: whole(f, "validity_days", bad),
		LowStockThreshold: whole(f, "low_stock_threshold", bad), Active: &active}
	if in.PriceCents == nil && len(bad.Errors) == 0 {
		bad.Field("price_cents", "is required (the solidarity price)")
	}
	v.Form = f
	return submit(p.Site, c, "recharge_product", v, bad.Err(), "Saved.", func() (string, error) {
		_, err := p.Service.UpdateProduct(c.Request.Context(), caller, id, in)
		return "/recharges/" + strconv.FormatInt(id, 10), err
	})
}

// saveThresholds records each site's low-stock threshold for the product
// (site_ID fields); every value is checked before any is written.
func (p *Recharges) saveThresholds(c *gin.Context, caller partners.Caller, id int64) error {
	v, err := p.productView(c, caller, id)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	bad := &apperr.ValidationError{}
	want := map[int64]int{}
	for _, s := range v.Stock {
		field := "site_" + strconv.FormatInt(s.SiteID, 10)
		if n := whole(f, field, bad); n != nil {
			if *n < 0 || *n > 1_000_000 {
				bad.Field(field, "must be between 0 and 1000000")
			} else if *n != s.Threshold {
				want[s.SiteID] = *n
			}
		}
	}
	return submit(p.Site, c, "recharge_product", v, bad.Err(), "Saved.", func() (string, error) {
		for site, n := range want {
			if _, err := p.Service.SetThreshold(c.Request.Context(), caller, id, site, n); err != nil {
				return "", err
			}
		}
		return "/recharges/" + strconv.FormatInt(id, 10), nil
	})
}
