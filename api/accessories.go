package api

import (
	"strconv"

	"github.com/tremplin/tremplin/accessories"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/partners"
)

// Accessories serves the accessories' endpoints of /api/v1.
type Accessories struct {
	Service *accessories.Service
}

// Routes mounts the routes on a group behind RequireAuth.
func (a *Accessories) Routes(r *gin.RouterGroup) {
	r.POST("/accessories", create(a.Service.Create, func(x accessories.Accessory) string { return "/api/v1/accessories/" + strconv.FormatInt(x.ID, 10) }))
	r.GET("/accessories", withCaller(func(c *gin.Context, caller partners.Caller) error {
		l, err := a.Service.List(c.Request.Context(), caller)
		return httpx.OK(c, l, err)
	}))
	r.GET("/accessories/:id", byID(a.Service.Get))
	r.PATCH("/accessories/:id", byIDWith(a.Service.Update))
	r.POST("/sites/:id/accessory-movements", withCaller(func(c *gin.Context, caller partners.Caller) error {
		site, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		var in accessories.NewMovement
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		m, err := a.Service.Record(c.Request.Context(), caller, site, in)
		if err != nil {
			return err
		}
		return httpx.Created(c, "/api/v1/accessory-stock?site_id="+strconv.FormatInt(site, 10), m)
	}))
	r.GET("/accessory-stock", withCaller(func(c *gin.Context, caller partners.Caller) error {
		v := &apperr.ValidationError{}
		site := httpx.QueryID(c, "site_id", v)
		if err := v.Err(); err != nil {
			return err
		}
		st, err := a.Service.StockOf(c.Request.Context(), caller, site)
		return httpx.OK(c, st, err)
	}))
}
