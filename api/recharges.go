package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tremplin/tremplin/recharges"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/partners"
)

// Recharges serves the recharges endpoints of /api/v1.
type Recharges struct {
	Service *recharges.Service
	// MaxRechargeBytes bounds an operator file sent over HTTP; 0 means
	// MaxRechargeFile.
	MaxRechargeBytes int64
}

// Routes mounts the recharges routes on a group behind RequireAuth.
func (a *Recharges) Routes(r *gin.RouterGroup) {
	r.POST("/recharge-products", create(a.Service.CreateProduct, func(p recharges.Product) string { return "/api/v1/recharge-products/" + strconv.FormatInt(p.ID, 10) }))
	r.GET("/recharge-products", withCaller(a.listRechargeProducts))
	r.GET("/recharge-products/:id", byID(a.Service.GetProduct))
	r.PATCH("/recharge-products/:id", byIDWith(a.Service.UpdateProduct))
	r.PUT("/recharge-products/:id/thresholds/:site", withCaller(a.setThreshold))
	r.POST("/recharge-batches", withCaller(a.importRecharges))
	r.GET("/recharge-batches/:id", byID(a.Service.GetBatch))
	r.GET("/recharge-stock", withCaller(a.rechargeStock))
	r.GET("/recharge-reports/sold", withCaller(a.soldReport))
}

func (a *Recharges) listRechargeProducts(c *gin.Context, caller partners.Caller) error {
	page, v := httpx.ListQuery(c)
	op := httpx.QueryID(c, "operator_id", v)
	if err := v.Err(); err != nil {
		return err
	}
	l, err := a.Service.ListProducts(c.Request.Context(), caller, op, page)
	return httpx.OK(c, l, err)
}

func (a *Recharges) setThreshold(c *gin.Context, caller partners.Caller) error {
	id, site, err := pathIDs(c, "id", "site")
	if err != nil {
		return err
	}
	var in struct {
		Threshold *int `json:"threshold"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Threshold == nil {
		return apperr.Invalid("threshold", "is required")
	}
	t, err := a.Service.SetThreshold(c.Request.Context(), caller, id, site, *in.Threshold)
	return httpx.OK(c, t, err)
}

func (a *Recharges) importRecharges(c *gin.Context, caller partners.Caller) error {
	v := &apperr.ValidationError{}
	product, site := httpx.QueryID(c, "product_id", v), httpx.QueryID(c, "site_id", v)
	if err := v.Err(); err != nil {
		return err
	}
	if c.ContentType() == "application/json" {
		return apperr.Invalid("Content-Type", "send the operator file as text/csv (header serial,pin,expires_on)")
	}
	limit := a.MaxRechargeBytes
	if limit <= 0 {
		limit = MaxRechargeFile
	}
	if c.Request.ContentLength > limit {
		return fmt.Errorf("an operator file of %d MB: at most %d MB per import: %w", c.Request.ContentLength>>20, limit>>20, apperr.ErrTooLarge)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	res, err := a.Service.Import(c.Request.Context(), caller, product, site, c.Request.Body, nil)
	if err != nil {
		return err
	}
	return httpx.Created(c, "/api/v1/recharge-batches/"+strconv.FormatInt(res.ID, 10), res)
}

// MaxRechargeFile bounds an operator file sent over HTTP (a million cards
// take about 35 MB); the command line reads files of any size.
const MaxRechargeFile = 512 << 20

func (a *Recharges) rechargeStock(c *gin.Context, caller partners.Caller) error {
	v := &apperr.ValidationError{}
	site := httpx.QueryID(c, "site_id", v)
	low := false
	if s := c.Query("low"); s != "" {
		var err error
		if low, err = strconv.ParseBool(s); err != nil {
			v.Field("low", "must be true or false")
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	lines, err := a.Service.Stock(c.Request.Context(), caller, site, low)
	return httpx.OK(c, lines, err)
}

func (a *Recharges) soldReport(c *gin.Context, caller partners.Caller) error {
	v := &apperr.ValidationError{}
	op := httpx.QueryID(c, "operator_id", v)
	if op == 0 && c.Query("operator_id") == "" {
		v.Field("operator_id", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := a.Service.SoldReport(c.Request.Context(), caller, op, c.Query("month"), &buf); err != nil {
		return err
	}
	httpx.SendFile(c, "recharges-vendues-"+c.Query("month")+".csv", "text/csv; charset=utf-8", buf.Bytes(), false)
	return nil
}
