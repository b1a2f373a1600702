package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/reports"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/partners"
)

// Reports serves /api/v1/reports.
type Reports struct {
	Service *reports.Service
}

// Routes mounts the routes on a group behind RequireAuth.
func (a *Reports) Routes(r *gin.RouterGroup) {
	r.GET("/reports/summary", withCaller(a.summary))
	r.GET("/reports/funders", withCaller(a.funders))
	r.GET("/reports/open-data.csv", withCaller(a.openData))
	r.GET("/reports/donors/:id/impact.pdf", withCaller(a.impact))
}

func (a *Reports) impact(c *gin.Context, caller partners.Caller) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("donor %q: %w", c.Param("id"), apperr.ErrNotFound)
	}
	pdf, name, err := a.Service.ImpactReport(c.Request.Context(), caller, id, c.Query("from"), c.Query("to"), i18n.French)
	if err != nil {
		return err
	}
	httpx.SendFile(c, name, "application/pdf", pdf, true)
	return nil
}

func (a *Reports) funders(c *gin.Context, caller partners.Caller) error {
	accept := c.GetHeader("Accept")
	format := ""
	switch {
	case strings.Contains(accept, "text/csv"):
		format = "csv"
	case strings.Contains(accept, "application/pdf"):
		format = "pdf"
	default:
		f, err := a.Service.FunderReport(c.Request.Context(), caller, c.Query("from"), c.Query("to"))
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, f)
		return nil
	}
	f, err := a.Service.FundersFile(c.Request.Context(), caller, c.Query("from"), c.Query("to"), format)
	if err != nil {
		return err
	}
	serveFile(c, f)
	return nil
}

func (a *Reports) openData(c *gin.Context, caller partners.Caller) error {
	f, err := a.Service.OpenDataFile(c.Request.Context(), caller, c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	serveFile(c, f)
	return nil
}

// serveFile sends a report to download.
func serveFile(c *gin.Context, f reports.File) {
	httpx.SendFile(c, f.Name, f.ContentType, f.Body, false)
}

func (a *Reports) summary(c *gin.Context, caller partners.Caller) error {
	var site int64
	if s := c.Query("site_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return apperr.Invalid("site_id", "must be a positive whole number")
		}
		site = id
	}
	sum, err := a.Service.Summarise(c.Request.Context(), caller, c.Query("from"), c.Query("to"), site)
	if err != nil {
		return err
	}
	if strings.Contains(c.GetHeader("Accept"), "text/csv") {
		var b bytes.Buffer
		if err := reports.WriteCSV(&b, sum); err != nil {
			return err
		}
		httpx.SendFile(c, "tremplin-"+sum.From+"-"+sum.To+".csv", "text/csv; charset=utf-8", b.Bytes(), false)
		return nil
	}
	c.JSON(http.StatusOK, sum)
	return nil
}
