package partners

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/internal/web"
)

// SessionCookie names the web UI's session cookie.
const SessionCookie = "tremplin_session"

// Pages serves the web UI's login, logout and home page.
type Pages struct {
	Service *Service
	Site    *web.Site
	// Menus say what each domain's pages offer a caller, for the home page.
	Menus []func(Caller) []web.Link
	// BehindProxy: trust X-Forwarded-Proto from the configured proxies when
	// deciding whether cookies are Secure.
	BehindProxy bool
}

// Routes mounts the pages.
func (p *Pages) Routes(r gin.IRouter) {
	r.GET("/login", p.loginForm)
	r.POST("/login", p.login)
	r.POST("/logout", p.logout)
	r.GET("/", p.RequireSession(), p.home)
}

// RequireSession sends visitors without a valid session to the login page.
func (p *Pages) RequireSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, err := c.Cookie(SessionCookie)
		if err == nil {
			caller, aerr := p.Service.Authenticate(c.Request.Context(), secret, TokenSession)
			if aerr == nil {
				setCaller(c, caller)
				if err := web.CheckForm(c); err != nil {
					p.Site.Fail(c, err)
					return
				}
				c.Next()
				return
			}
			if !errors.Is(aerr, apperr.ErrUnauthenticated) {
				p.Site.Fail(c, aerr)
				return
			}
		}
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
	}
}

type loginView struct {
	Caller *Caller
	Email  string
	Next   string
	Error  string
}

// safeNext keeps a post-login redirect on this site.
func safeNext(s string) string {
	if !textcheck.CleanLine(s) || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	return s
}

func (p *Pages) loginForm(c *gin.Context) {
	p.Site.Render(c, http.StatusOK, "login", loginView{Next: safeNext(c.Query("next"))})
}

func (p *Pages) login(c *gin.Context) {
	email := c.PostForm("email")
	next := safeNext(c.PostForm("next"))
	s, err := p.Service.Login(c.Request.Context(), Credentials{Email: email, Password: c.PostForm("password")}, TokenSession,
		Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		view := loginView{Email: email, Next: next}
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, apperr.ErrRateLimited):
			status, view.Error = http.StatusTooManyRequests, "Trop de tentatives de connexion. Réessayez dans quelques minutes."
		case errors.Is(err, apperr.ErrInvalid):
			status, view.Error = http.StatusUnprocessableEntity, "Saisissez votre adresse e-mail et votre mot de passe."
		case errors.Is(err, apperr.ErrUnauthenticated):
			view.Error = "Adresse e-mail ou mot de passe incorrect."
		default:
			p.Site.Fail(c, err)
			return
		}
		p.Site.Render(c, status, "login", view)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy),
	})
	c.Redirect(http.StatusSeeOther, next)
}

func (p *Pages) logout(c *gin.Context) {
	if secret, err := c.Cookie(SessionCookie); err == nil {
		if caller, err := p.Service.Authenticate(c.Request.Context(), secret, TokenSession); err == nil {
			setCaller(c, caller)
			if err := p.Service.Logout(c.Request.Context(), caller); err != nil {
				p.Site.Fail(c, err)
				return
			}
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	c.Redirect(http.StatusSeeOther, "/login")
}

type homeView struct {
	Caller       *Caller
	Organization *Organization
	Actions      []web.Link
}

func (p *Pages) home(c *gin.Context) {
	caller, err := CurrentCaller(c)
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	view := homeView{Caller: &caller}
	for _, menu := range p.Menus {
		view.Actions = append(view.Actions, menu(caller)...)
	}
	if caller.OrganizationID != 0 {
		o, err := p.Service.GetOrganization(c.Request.Context(), caller, caller.OrganizationID)
		if err != nil {
			p.Site.Fail(c, err)
			return
		}
		view.Organization = &o
	}
	p.Site.Render(c, http.StatusOK, "home", view)
}

// Viewer is who looks at a page, for the layout's top bar: the session's
// caller, or nil before login.
func Viewer(c *gin.Context) any {
	if caller, err := CurrentCaller(c); err == nil {
		return &caller
	}
	return nil
}
