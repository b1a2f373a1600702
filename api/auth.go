package api

import (
	"fmt"
	"strings"

	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/httpx"
)

// RequireAuth authenticates API calls by their bearer token and puts the
// caller in the request context; without a valid token the answer is 401.
func RequireAuth(s *partners.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, secret, ok := strings.Cut(h, " ")
		if h == "" {
			c.Header("WWW-Authenticate", `Bearer realm="tremplin"`)
			httpx.Fail(c, fmt.Errorf("send Authorization: Bearer <token> (from POST /api/v1/auth/login): %w", apperr.ErrUnauthenticated))
			return
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			c.Header("WWW-Authenticate", `Bearer realm="tremplin"`)
			httpx.Fail(c, fmt.Errorf("the Authorization header must be Bearer <token>: %w", apperr.ErrUnauthenticated))
			return
		}
		caller, err := s.Authenticate(c.Request.Context(), strings.TrimSpace(secret), partners.TokenBearer)
		if err != nil {
			c.Header("WWW-Authenticate", `Bearer realm="tremplin", error="invalid_token"`)
			httpx.Fail(c, err)
			return
		}
		SetCaller(c, caller)
		c.Next()
	}
}

// SetCaller makes caller the request's: the handlers read it, and the
// audit log records who did what (the pages' session sets it the same way).
func SetCaller(c *gin.Context, caller partners.Caller) {
	ctx := partners.WithCaller(c.Request.Context(), caller)
	a := audit.ActorFrom(ctx)
	uid := caller.UserID
	a.UserID = &uid
	if caller.OrganizationID != 0 {
		oid := caller.OrganizationID
		a.OrganizationID = &oid
	}
	if site, ok := caller.SiteID(); ok {
		a.SiteID = &site
	}
	c.Request = c.Request.WithContext(audit.WithActor(ctx, a))
}

// Allow lets only the given roles through (403 for the others).
func Allow(roles ...partners.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		caller, err := partners.CallerFrom(c.Request.Context())
		if err == nil {
			err = caller.Require(roles...)
		}
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		c.Next()
	}
}
