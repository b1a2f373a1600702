package partners

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
)

// Handle adapts a handler that needs the authenticated caller; every domain's
// API mounts its handlers through it.
func Handle(h func(c *gin.Context, caller Caller) error) gin.HandlerFunc {
	return httpx.Handle(func(c *gin.Context) error {
		caller, err := CurrentCaller(c)
		if err != nil {
			return err
		}
		return h(c, caller)
	})
}

// ByID serves an action on one record: the path's id in, the record out as JSON.
func ByID[T any](fn func(ctx context.Context, c Caller, id int64) (T, error)) gin.HandlerFunc {
	return Handle(func(c *gin.Context, caller Caller) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		v, err := fn(c.Request.Context(), caller, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, v)
		return nil
	})
}

// ByIDWith is ByID for actions that take a JSON body.
func ByIDWith[In, T any](fn func(ctx context.Context, c Caller, id int64, in In) (T, error)) gin.HandlerFunc {
	return Handle(func(c *gin.Context, caller Caller) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		var in In
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		v, err := fn(c.Request.Context(), caller, id, in)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, v)
		return nil
	})
}
