package ui

import (
	"errors"
	"net/http"

	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/sso"
)

// ssoCookie keeps a sign-in's state, nonce and PKCE verifier in the browser
// between the redirect to the provider and its return (ten minutes).
const ssoCookie = "tremplin_sso"

// ssoRoutes mounts single sign-on when a provider is set up.
func (p *Partners) ssoRoutes(r gin.IRouter) {
	if p.SSO == nil {
		return
	}
	r.GET("/login/oidc", httpx.Handle(p.ssoStart))
	r.GET("/login/oidc/callback", httpx.Handle(p.ssoCallback))
}

// ssoRedirect is the callback's address as the provider knows it:
// TREMPLIN_PUBLIC_URL's, else this request's.
func (p *Partners) ssoRedirect(c *gin.Context) string {
	base := p.PublicURL
	if base == "" {
		scheme := "http"
		if httpx.IsHTTPS(c, p.BehindProxy) {
			scheme = "https"
		}
		base = scheme + "://" + c.Request.Host
	}
	return base + "/login/oidc/callback"
}

func (p *Partners) ssoStart(c *gin.Context) error {
	to, flow, err := p.SSO.Start(c.Request.Context(), p.ssoRedirect(c))
	if err != nil {
		return p.ssoFailed(c, err, "")
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: ssoCookie, Value: flow.String(), Path: "/login/oidc", MaxAge: 600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	c.Redirect(http.StatusFound, to)
	return nil
}

func (p *Partners) ssoCallback(c *gin.Context) error {
	raw, _ := c.Cookie(ssoCookie)
	// A sign-in's flow serves once, whatever comes of it.
	http.SetCookie(c.Writer, &http.Cookie{Name: ssoCookie, Value: "", Path: "/login/oidc", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	l := p.Site.Lang(c)
	if e := c.Query("error"); e != "" {
		p.Site.Render(c, http.StatusUnauthorized, "login", &loginView{SSO: p.SSO.Name(),
			Error: l.T("The sign-in with %s was cancelled or refused by %s. Try again, or log in with your password.", p.SSO.Name(), p.SSO.Name())})
		return nil
	}
	flow, ok := sso.ParseFlow(raw)
	if !ok {
		return p.ssoFailed(c, sso.ErrRefused, "")
	}
	id, err := p.SSO.Finish(c.Request.Context(), flow, p.ssoRedirect(c), c.Query("state"), c.Query("code"))
	if err != nil {
		return p.ssoFailed(c, err, "")
	}
	s, err := p.Service.LoginVerified(c.Request.Context(), id.Email, p.SSO.Name(), partners.TokenSession, partners.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		return p.ssoFailed(c, err, id.Email)
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy),
	})
	c.Redirect(http.StatusSeeOther, "/")
	return nil
}

// ssoFailed shows the login page with what went wrong and what to do.
func (p *Partners) ssoFailed(c *gin.Context, err error, email string) error {
	l := p.Site.Lang(c)
	name := p.SSO.Name()
	v := &loginView{SSO: name}
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, partners.ErrNoAccount):
		status = http.StatusForbidden
		v.Error = l.T("%s knows you as %s, but no active Tremplin account has this address. Ask your network's administrator to create your account with this address (or to reactivate it); nothing was created.", name, email)
	case errors.Is(err, sso.ErrRefused):
		v.Error = l.T("The sign-in with %s did not go through (it expired, or was opened in another browser). Try again.", name)
	case errors.Is(err, sso.ErrUnreachable):
		status = http.StatusServiceUnavailable
		c.Header("Retry-After", "30")
		v.Error = l.T("%s does not answer. Try again in a moment, or log in with your password.", name)
	default:
		return err
	}
	p.Site.Render(c, status, "login", v)
	return nil
}
