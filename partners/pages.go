package partners

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/problem"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/templates"
)

// SessionCookie names the web UI's session cookie.
const SessionCookie = "tremplin_session"

// Pages serves the web UI's login, logout and home page.
type Pages struct {
	Service *Service
	Views   *templates.Set
	Logger  *slog.Logger
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
				if err := checkForm(c); err != nil {
					p.fail(c, err)
					return
				}
				c.Next()
				return
			}
			if !errors.Is(aerr, apperr.ErrUnauthenticated) {
				p.fail(c, aerr)
				return
			}
		}
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
	}
}

// checkForm refuses a posted form with a control character in any field,
// as DecodeJSON does for the API: pages never store what the API refuses.
func checkForm(c *gin.Context) error {
	if c.Request.Method != http.MethodPost {
		return nil
	}
	if err := c.Request.ParseForm(); err != nil {
		return fmt.Errorf("form: %w", apperr.ErrMalformed)
	}
	v := &apperr.ValidationError{}
	for name, vals := range c.Request.PostForm {
		for _, s := range vals {
			if !textcheck.Clean(name) || !textcheck.Clean(s) {
				v.Field(name, textcheck.Message)
				break
			}
		}
	}
	return v.Err()
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
	p.render(c, http.StatusOK, "login", loginView{Next: safeNext(c.Query("next"))})
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
			p.fail(c, err)
			return
		}
		p.render(c, status, "login", view)
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
				p.fail(c, err)
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
}

func (p *Pages) home(c *gin.Context) {
	caller, err := CurrentCaller(c)
	if err != nil {
		p.fail(c, err)
		return
	}
	view := homeView{Caller: &caller}
	if caller.OrganizationID != 0 {
		o, err := p.Service.GetOrganization(c.Request.Context(), caller, caller.OrganizationID)
		if err != nil {
			p.fail(c, err)
			return
		}
		view.Organization = &o
	}
	p.render(c, http.StatusOK, "home", view)
}

// Render shows a page, for the other domains' pages too.
func (p *Pages) Render(c *gin.Context, status int, name string, data any) {
	p.render(c, status, name, data)
}

// Fail shows the error page for err, for the other domains' pages too.
func (p *Pages) Fail(c *gin.Context, err error) { p.fail(c, err) }

func (p *Pages) render(c *gin.Context, status int, name string, data any) {
	if err := p.Views.Render(c.Writer, status, name, data); err != nil {
		p.Logger.Error("render page", "page", name, "error", err.Error(), "request_id", httpx.RequestID(c))
		c.String(http.StatusInternalServerError, "Erreur interne.")
	}
	c.Abort()
}

type errorView struct {
	Caller  *Caller
	Title   string
	Message string
}

// fail shows a clear error page; unexpected errors are logged, not shown.
func (p *Pages) fail(c *gin.Context, err error) {
	view := errorView{Title: "Erreur", Message: "Une erreur est survenue de notre côté. Elle a été enregistrée ; réessayez dans un instant."}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		status, view.Title, view.Message = http.StatusNotFound, "Introuvable", "Cette page ou cette fiche n'existe pas, ou vous n'y avez pas accès."
	case errors.Is(err, apperr.ErrForbidden):
		status, view.Title, view.Message = http.StatusForbidden, "Accès refusé", "Votre rôle ne permet pas cette action."
	case errors.Is(err, apperr.ErrConflict):
		status, view.Title, view.Message = http.StatusConflict, "Action impossible", err.Error()
	case errors.Is(err, apperr.ErrInvalid), errors.Is(err, apperr.ErrMalformed):
		status, view.Title, view.Message = http.StatusUnprocessableEntity, "Saisie à corriger", err.Error()
	case errors.Is(err, apperr.ErrRateLimited):
		status, view.Title, view.Message = http.StatusTooManyRequests, "Trop d'essais", "Trop de codes introuvables : attendez quelques minutes et vérifiez le code avec la personne."
	case problem.IsUnavailable(err):
		status, view.Title, view.Message = http.StatusServiceUnavailable, "Service momentanément indisponible",
			"Tremplin ne joint pas sa base de données pour l'instant. Rien n'a été enregistré : réessayez dans un instant."
		c.Header("Retry-After", "5")
	default:
		p.Logger.Error("page failed", "error", err.Error(), "path", c.Request.URL.Path, "request_id", httpx.RequestID(c))
	}
	if caller, cerr := CurrentCaller(c); cerr == nil {
		view.Caller = &caller
	}
	p.render(c, status, "error", view)
}
