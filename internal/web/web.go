// Package web draws the web UI's pages: one place renders a page in the
// layout and turns an error into a clear page in French (the API's
// problem+json has its own place, internal/problem). Domains keep only
// their page handlers.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/problem"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/templates"
)

// Site renders pages.
type Site struct {
	Views  *templates.Set
	Logger *slog.Logger
	// Viewer is who looks at the page, for the layout (nil before login).
	Viewer func(*gin.Context) any
}

// Render shows a page and stops the chain; a template error is a bare 500
// (logged), never half a page.
func (s *Site) Render(c *gin.Context, status int, name string, data any) {
	if err := s.Views.Render(c.Writer, status, name, data); err != nil {
		s.Logger.Error("render page", "page", name, "error", err.Error(), "request_id", httpx.RequestID(c))
		c.String(http.StatusInternalServerError, "Erreur interne.")
	}
	c.Abort()
}

// Link is an action a page offers, decided in Go from the role lists the
// services check (never re-decided in a template).
type Link struct {
	ID      string
	Label   string
	Href    string
	Primary bool
}

type errorView struct {
	Caller  any
	Title   string
	Message string
}

// Fail shows a clear error page; unexpected errors are logged, not shown.
func (s *Site) Fail(c *gin.Context, err error) {
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
		s.Logger.Error("page failed", "error", err.Error(), "path", c.Request.URL.Path, "request_id", httpx.RequestID(c))
	}
	if s.Viewer != nil {
		view.Caller = s.Viewer(c)
	}
	s.Render(c, status, "error", view)
}

// CheckForm refuses a posted form with a control character in any field,
// as httpx.DecodeJSON does for the API: pages never store what the API
// refuses.
func CheckForm(c *gin.Context) error {
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
