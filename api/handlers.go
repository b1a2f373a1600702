package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/partners"
)

// The API's adapters: the caller RequireAuth set, the path's id, the JSON
// body, in; the record, or the error httpx.Handle answers, out.

// withCaller adapts a handler that needs the authenticated caller: every
// endpoint is mounted through it (or byID, byIDWith, create).
func withCaller(h func(c *gin.Context, caller partners.Caller) error) gin.HandlerFunc {
	return httpx.Handle(func(c *gin.Context) error {
		caller, err := partners.CallerFrom(c.Request.Context())
		if err != nil {
			return err
		}
		return h(c, caller)
	})
}

// byID serves an action on one record: the path's id in, the record out as JSON.
func byID[T any](fn func(ctx context.Context, c partners.Caller, id int64) (T, error)) gin.HandlerFunc {
	return withCaller(func(c *gin.Context, caller partners.Caller) error {
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

// byIDWith is byID for actions that take a JSON body.
func byIDWith[In, T any](fn func(ctx context.Context, c partners.Caller, id int64, in In) (T, error)) gin.HandlerFunc {
	return withCaller(func(c *gin.Context, caller partners.Caller) error {
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

// create serves a POST that makes a record: the JSON body in, 201 with the
// record and its Location out.
func create[In, T any](fn func(ctx context.Context, c partners.Caller, in In) (T, error), location func(T) string) gin.HandlerFunc {
	return withCaller(func(c *gin.Context, caller partners.Caller) error {
		var in In
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		v, err := fn(c.Request.Context(), caller, in)
		if err != nil {
			return err
		}
		return httpx.Created(c, location(v), v)
	})
}

// pathIDs reads two ids of the path, such as a site's and one of its stock
// checks' (anything but a positive number is a 404).
func pathIDs(c *gin.Context, first, second string) (int64, int64, error) {
	a, err := httpx.PathID(c, first)
	if err != nil {
		return 0, 0, err
	}
	b, err := httpx.PathID(c, second)
	return a, b, err
}
