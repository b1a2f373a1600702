package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/sso"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/internal/zone"
)

// SessionCookie names the web UI's session cookie.
const SessionCookie = "tremplin_session"

// Partners serves the web UI's login, logout and home page.
type Partners struct {
	Service *partners.Service
	Site    *web.Site
	// Menus say what each domain's pages offer a caller, for the menu and
	// the home page.
	Menus []func(partners.Caller) []web.Link
	// Homes are each role's daily page, where / leads (the home page
	// with the menu's actions for a role without one).
	Homes map[partners.Role]string
	// BehindProxy: trust X-Forwarded-Proto from the configured proxies when
	// deciding whether cookies are Secure.
	BehindProxy bool
	// SSO is the single sign-on provider (nil: none), and PublicURL the
	// address it sends people back to.
	SSO       *sso.Provider
	PublicURL string
}

// Routes mounts the pages.
func (p *Partners) Routes(r gin.IRouter) {
	r.GET("/login", httpx.Handle(p.loginForm))
	r.POST("/login", httpx.Handle(p.login))
	r.POST("/logout", httpx.Handle(p.logout))
	r.POST("/langue", httpx.Handle(p.language))
	r.GET("/", p.RequireSession(), withCaller(p.home))
	p.ssoRoutes(r)
}

// langCookie keeps the language chosen before login (and on this browser).
const langCookie = "tremplin_lang"

// Frame is the layout's view of the caller: language, zone, person, site
// and menu (web.Site calls it for every page).
func (p *Partners) Frame(c *gin.Context) (web.Page, bool) {
	setting, _ := c.Cookie(langCookie)
	caller, err := currentCaller(c)
	if err != nil {
		return web.Page{Lang: i18n.Choose(setting, c.GetHeader("Accept-Language")), Loc: time.UTC}, false
	}
	if caller.Language != "" {
		setting = caller.Language
	}
	loc, err := zone.Load(caller.Timezone)
	if err != nil {
		loc = time.UTC
	}
	f := web.Page{Lang: i18n.Choose(setting, c.GetHeader("Accept-Language")), Loc: loc, UserID: caller.UserID,
		Who: caller.Name, Role: RoleLabel(caller.Role), Where: caller.OrganizationName}
	if f.Where == "" {
		f.Where = f.Lang.T("Tremplin network")
	}
	for _, menu := range p.Menus {
		f.Menu = append(f.Menu, menu(caller)...)
	}
	return f, true
}

// RoleLabel is a role as people read it (a catalogue key).
func RoleLabel(r partners.Role) string {
	switch r {
	case partners.RoleAdmin:
		return "Network admin"
	case partners.RoleWarehouse:
		return "Warehouse"
	case partners.RoleSpace:
		return "Space"
	case partners.RolePrescriber:
		return "Prescriber"
	}
	return string(r)
}

// language switches the UI's language: kept on this browser, and on the
// person's account when signed in.
func (p *Partners) language(c *gin.Context) error {
	l, ok := i18n.Parse(c.PostForm("lang"))
	if !ok {
		return apperr.Invalid("lang", "must be fr or en")
	}
	if secret, err := c.Cookie(SessionCookie); err == nil {
		if caller, err := p.Service.Authenticate(c.Request.Context(), secret, partners.TokenSession); err == nil {
			if err := p.Service.SetLanguage(c.Request.Context(), caller, string(l)); err != nil {
				return err
			}
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
	return nil
}

// OptionalSession knows the person on a public page when they are signed
// in (their language, their menu), and lets anyone else through.
func (p *Partners) OptionalSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		if secret, err := c.Cookie(SessionCookie); err == nil {
			if caller, aerr := p.Service.Authenticate(c.Request.Context(), secret, partners.TokenSession); aerr == nil {
				api.SetCaller(c, caller)
			}
		}
		c.Next()
	}
}

// RequireSession sends visitors without a valid session to the login page.
func (p *Partners) RequireSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, err := c.Cookie(SessionCookie)
		if err == nil {
			caller, aerr := p.Service.Authenticate(c.Request.Context(), secret, partners.TokenSession)
			if aerr == nil {
				api.SetCaller(c, caller)
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
	web.Page
	Email string
	Next  string
	Error string
	// SSO is the single sign-on provider's name, when there is one.
	SSO string
}

// safeNext keeps a post-login redirect on this site.
func safeNext(s string) string {
	if !textcheck.CleanLine(s) || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	return s
}

func (p *Partners) loginForm(c *gin.Context) error {
	p.Site.Render(c, http.StatusOK, "login", &loginView{Next: safeNext(c.Query("next")), SSO: p.ssoName()})
	return nil
}

func (p *Partners) login(c *gin.Context) error {
	email := c.PostForm("email")
	next := safeNext(c.PostForm("next"))
	s, err := p.Service.Login(c.Request.Context(), partners.Credentials{Email: email, Password: c.PostForm("password")}, partners.TokenSession,
		partners.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		view := &loginView{Email: email, Next: next, SSO: p.ssoName()}
		status := http.StatusUnauthorized
		l := p.Site.Lang(c)
		switch {
		case errors.Is(err, apperr.ErrRateLimited):
			status, view.Error = http.StatusTooManyRequests, l.T("Too many login attempts. Try again in a few minutes.")
		case errors.Is(err, apperr.ErrInvalid):
			status, view.Error = http.StatusUnprocessableEntity, l.T("Type your email address and your password.")
		case errors.Is(err, apperr.ErrUnauthenticated):
			view.Error = l.T("Wrong email address or password.")
		case errors.As(err, new(*apperr.BusyError)):
			c.Header("Retry-After", "1")
			status, view.Error = http.StatusServiceUnavailable, l.T("Too many people are logging in at once. Try again in a moment.")
		default:
			return err
		}
		p.Site.Render(c, status, "login", view)
		return nil
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy),
	})
	c.Redirect(http.StatusSeeOther, next)
	return nil
}

func (p *Partners) ssoName() string {
	if p.SSO == nil {
		return ""
	}
	return p.SSO.Name()
}

func (p *Partners) logout(c *gin.Context) error {
	if secret, err := c.Cookie(SessionCookie); err == nil {
		if caller, err := p.Service.Authenticate(c.Request.Context(), secret, partners.TokenSession); err == nil {
			api.SetCaller(c, caller)
			if err := p.Service.Logout(c.Request.Context(), caller); err != nil {
				return err
			}
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	c.Redirect(http.StatusSeeOther, "/login")
	return nil
}

type homeView struct {
	web.Page
	Caller       *partners.Caller
	Organization *partners.Organization
	Actions      []web.Link
}

func (p *Partners) home(c *gin.Context, caller partners.Caller) error {
	if to, ok := p.Homes[caller.Role]; ok {
		c.Redirect(http.StatusSeeOther, to)
		return nil
	}
	view := &homeView{Caller: &caller}
	for _, menu := range p.Menus {
		view.Actions = append(view.Actions, menu(caller)...)
	}
	if caller.OrganizationID != 0 {
		o, err := p.Service.GetOrganization(c.Request.Context(), caller, caller.OrganizationID)
		if err != nil {
			return err
		}
		view.Organization = &o
	}
	p.Site.Render(c, http.StatusOK, "home", view)
	return nil
}
