package httpx

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
)

// The authenticated caller travels in the request's context; its type is
// the partners domain's (httpx knows no domain), hence the type parameters.

type callerKey struct{}

// WithCaller returns a context carrying the authenticated caller.
func WithCaller[C any](ctx context.Context, c C) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of an authenticated request, or
// ErrUnauthenticated.
func CallerFrom[C any](ctx context.Context) (C, error) {
	c, ok := ctx.Value(callerKey{}).(C)
	if !ok {
		return c, fmt.Errorf("no caller in context: %w", apperr.ErrUnauthenticated)
	}
	return c, nil
}

// Authed adapts a handler that needs the authenticated caller: every
// domain's API mounts its handlers through it (or ByID, ByIDWith).
func Authed[C any](h func(c *gin.Context, caller C) error) gin.HandlerFunc {
	return Handle(func(c *gin.Context) error {
		caller, err := CallerFrom[C](c.Request.Context())
		if err != nil {
			return err
		}
		return h(c, caller)
	})
}

// ByID serves an action on one record: the path's id in, the record out as JSON.
func ByID[C, T any](fn func(ctx context.Context, c C, id int64) (T, error)) gin.HandlerFunc {
	return Authed(func(c *gin.Context, caller C) error {
		id, err := PathID(c, "id")
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
func ByIDWith[C, In, T any](fn func(ctx context.Context, c C, id int64, in In) (T, error)) gin.HandlerFunc {
	return Authed(func(c *gin.Context, caller C) error {
		id, err := PathID(c, "id")
		if err != nil {
			return err
		}
		var in In
		if err := DecodeJSON(c, &in); err != nil {
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

// Create serves a POST that makes a record: the JSON body in, 201 with the
// record and its Location out.
func Create[C, In, T any](fn func(ctx context.Context, c C, in In) (T, error), location func(T) string) gin.HandlerFunc {
	return Authed(func(c *gin.Context, caller C) error {
		var in In
		if err := DecodeJSON(c, &in); err != nil {
			return err
		}
		v, err := fn(c.Request.Context(), caller, in)
		if err != nil {
			return err
		}
		return Created(c, location(v), v)
	})
}
