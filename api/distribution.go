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

// Distribution serves the distribution endpoints of /api/v1.
type Distribution struct {
	Service *distribution.Service
}

// Routes mounts the routes on a group behind RequireAuth.
func (a *Distribution) Routes(r *gin.RouterGroup) {
	r.POST("/beneficiaries", create(a.Service.CreateBeneficiary, func(b distribution.BeneficiaryView) string {
		return "/api/v1/beneficiaries/" + strconv.FormatInt(b.ID, 10)
	}))
	r.GET("/beneficiaries", withCaller(a.listBeneficiaries))
	r.GET("/beneficiaries/:id", byID(a.Service.GetBeneficiary))
	r.GET("/beneficiaries/:id/export", withCaller(a.exportBeneficiary))

	r.POST("/vouchers", create(a.Service.IssueVoucher, func(v distribution.VoucherView) string { return "/api/v1/vouchers/" + v.Code }))
	r.GET("/vouchers", withCaller(a.listVouchers))
	r.GET("/vouchers/:code", withCaller(a.lookupVoucher))
	r.GET("/vouchers/:code/voucher.pdf", withCaller(a.voucherPDF))
	r.POST("/vouchers/:code/revoke", withCaller(a.revoke))
	r.POST("/vouchers/:code/renew", withCaller(a.renew))

	r.GET("/availability", withCaller(a.availability))
	r.GET("/notifications", withCaller(a.notifications))
	r.POST("/reservations", create(a.Service.Reserve, func(r distribution.ReservationView) string {
		return "/api/v1/reservations/" + strconv.FormatInt(r.ID, 10)
	}))
	r.GET("/reservations", withCaller(a.listReservations))
	r.POST("/reservations/:id/cancel", byID(a.Service.CancelReservation))
	a.salesRoutes(r)
}

func (a *Distribution) listBeneficiaries(c *gin.Context, caller partners.Caller) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	l, err := a.Service.ListBeneficiaries(c.Request.Context(), caller, c.Query("q"), page)
	return httpx.OK(c, l, err)
}

func (a *Distribution) exportBeneficiary(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	e, err := a.Service.ExportBeneficiary(c.Request.Context(), caller, id)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Disposition", `attachment; filename="beneficiaire-`+strconv.FormatInt(id, 10)+`.json"`)
	c.JSON(http.StatusOK, e)
	return nil
}

func (a *Distribution) listVouchers(c *gin.Context, caller partners.Caller) error {
	page, v := httpx.ListQuery(c)
	f := distribution.VoucherFilter{Status: c.Query("status"), BeneficiaryID: httpx.QueryID(c, "beneficiary_id", v), Q: c.Query("q")}
	if err := v.Err(); err != nil {
		return err
	}
	l, err := a.Service.ListVouchers(c.Request.Context(), caller, f, page)
	return httpx.OK(c, l, err)
}

func (a *Distribution) lookupVoucher(c *gin.Context, caller partners.Caller) error {
	v, err := a.Service.LookupVoucher(c.Request.Context(), caller, c.Param("code"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, v)
	return nil
}

func (a *Distribution) voucherPDF(c *gin.Context, caller partners.Caller) error {
	b, err := a.Service.VoucherPDF(c.Request.Context(), caller, c.Param("code"), c.Query("format"))
	if err != nil {
		return err
	}
	return httpx.PDF(c, "bon-tremplin.pdf", b)
}

func (a *Distribution) revoke(c *gin.Context, caller partners.Caller) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	v, err := a.Service.Revoke(c.Request.Context(), caller, c.Param("code"), in.Reason)
	return httpx.OK(c, v, err)
}

func (a *Distribution) renew(c *gin.Context, caller partners.Caller) error {
	var in struct {
		ValidDays int `json:"valid_days"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	v, err := a.Service.Renew(c.Request.Context(), caller, c.Param("code"), in.ValidDays)
	if err != nil {
		return err
	}
	return httpx.Created(c, "/api/v1/vouchers/"+v.Code, v)
}

func (a *Distribution) availability(c *gin.Context, caller partners.Caller) error {
	out, err := a.Service.Availability(c.Request.Context(), caller, c.Query("category"))
	return httpx.OK(c, out, err)
}

func (a *Distribution) listReservations(c *gin.Context, caller partners.Caller) error {
	v := &apperr.ValidationError{}
	f := distribution.ReservationFilter{SiteID: httpx.QueryID(c, "site_id", v), Status: c.Query("status")}
	if err := v.Err(); err != nil {
		return err
	}
	out, err := a.Service.ListReservations(c.Request.Context(), caller, f)
	return httpx.OK(c, out, err)
}

func (a *Distribution) notifications(c *gin.Context, caller partners.Caller) error {
	v := &apperr.ValidationError{}
	id := httpx.QueryID(c, "beneficiary_id", v)
	if id == 0 && len(v.Errors) == 0 {
		v.Field("beneficiary_id", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	out, err := a.Service.Notifications(c.Request.Context(), caller, id)
	return httpx.OK(c, out, err)
}
