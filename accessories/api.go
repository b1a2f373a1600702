package accessories

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/partners"
)

// API serves the accessories' endpoints of /api/v1.
type API struct {
	Service *Service
}

// Routes mounts the routes on a group behind partners.RequireAuth.
func (a *API) Routes(r *gin.RouterGroup) {
	r.POST("/accessories", httpx.Create(a.Service.Create, func(x Accessory) string { return "/api/v1/accessories/" + strconv.FormatInt(x.ID, 10) }))
	r.GET("/accessories", httpx.Authed(func(c *gin.Context, caller partners.Caller) error {
		l, err := a.Service.List(c.Request.Context(), caller)
		return httpx.OK(c, l, err)
	}))
	r.GET("/accessories/:id", httpx.ByID(a.Service.Get))
	r.PATCH("/accessories/:id", httpx.ByIDWith(a.Service.Update))
	r.POST("/sites/:id/accessory-movements", httpx.Authed(func(c *gin.Context, caller partners.Caller) error {
		site, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		var in NewMovement
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		m, err := a.Service.Record(c.Request.Context(), caller, site, in)
		if err != nil {
			return err
		}
		return httpx.Created(c, "/api/v1/accessory-stock?site_id="+strconv.FormatInt(site, 10), m)
	}))
	r.GET("/accessory-stock", httpx.Authed(func(c *gin.Context, caller partners.Caller) error {
		v := &apperr.ValidationError{}
		site := httpx.QueryID(c, "site_id", v)
		if err := v.Err(); err != nil {
			return err
		}
		st, err := a.Service.StockOf(c.Request.Context(), caller, site)
		return httpx.OK(c, st, err)
	}))
}
