package api

import (
	"net/http"
	"strconv"

	"github.com/tremplin/tremplin/distribution"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/partners"
)

func (a *Distribution) salesRoutes(r *gin.RouterGroup) {
	r.POST("/sales", withCaller(a.sell))
	r.GET("/sales", withCaller(a.listSales))
	r.GET("/sales/:id", byID(a.Service.GetSale))
	r.GET("/sales/:id/receipt.pdf", withCaller(a.receipt))
	r.GET("/sales/:id/handover.png", withCaller(a.handoverPNG))
	r.POST("/sales/:id/refund", byIDWith(a.Service.Refund))
	r.GET("/sites/:id/closing", withCaller(a.closing))
	r.POST("/sites/:id/closing", withCaller(a.recordClosing))
}

func (a *Distribution) sell(c *gin.Context, caller partners.Caller) error {
	var in distribution.SaleRequest
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	v, replayed, err := a.Service.Sell(c.Request.Context(), caller, c.GetHeader("Idempotency-Key"), in)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Location", "/api/v1/sales/"+strconv.FormatInt(v.ID, 10))
	if replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.JSON(http.StatusCreated, v)
	return nil
}

func (a *Distribution) listSales(c *gin.Context, caller partners.Caller) error {
	page, v := httpx.ListQuery(c)
	f := distribution.SaleFilter{Date: c.Query("date"), VoucherCode: c.Query("voucher_code"), SiteID: httpx.QueryID(c, "site_id", v)}
	if err := v.Err(); err != nil {
		return err
	}
	l, err := a.Service.ListSales(c.Request.Context(), caller, f, page)
	return httpx.OK(c, l, err)
}

func (a *Distribution) receipt(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	b, err := a.Service.Receipt(c.Request.Context(), caller, id, c.Query("format"))
	if err != nil {
		return err
	}
	return httpx.PDF(c, "ticket-"+strconv.FormatInt(id, 10)+".pdf", b)
}

func (a *Distribution) handoverPNG(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	b, err := a.Service.HandoverPNG(c.Request.Context(), caller, id)
	if err != nil {
		return err
	}
	httpx.SendFile(c, "signature-"+strconv.FormatInt(id, 10)+".png", "image/png", b, true)
	return nil
}

func (a *Distribution) closing(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	cl, err := a.Service.DayClosing(c.Request.Context(), caller, id, c.Query("date"))
	return httpx.OK(c, cl, err)
}

func (a *Distribution) recordClosing(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Date             string `json:"date"`
		CountedCashCents *int64 `json:"counted_cash_cents"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.CountedCashCents == nil {
		return apperr.Invalid("counted_cash_cents", "is required (the cash counted in the till, in cents)")
	}
	cl, err := a.Service.RecordClosing(c.Request.Context(), caller, id, in.Date, *in.CountedCashCents)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, cl)
	return nil
}
