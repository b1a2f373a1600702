package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
)

type accountView struct {
	web.Page
	formView
	User     partners.User
	Language string // the setting: "fr", "en" or "" (the browser's)
}

func (p *Partners) accountPage(c *gin.Context, caller partners.Caller) (*accountView, error) {
	u, err := p.Service.Me(c.Request.Context(), caller)
	if err != nil {
		return nil, err
	}
	return &accountView{User: u, Language: u.Language, formView: formView{Form: url.Values{}}}, nil
}

// account is everyone's own page: password, language, sessions.
func (p *Partners) account(c *gin.Context, caller partners.Caller) error {
	v, err := p.accountPage(c, caller)
	if err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "account", v)
	return nil
}

// changePassword changes the caller's password, the current one asked
// (and counted with failed logins); the other sessions end.
func (p *Partners) changePassword(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	current, next := f.Get("current_password"), f.Get("password")
	// Two new passwords that differ are refused before the form's key is
	// spent: the corrected form goes through.
	err := apperr.Invalid("password_again", "the two new passwords differ: type the same one twice")
	if next == f.Get("password_again") {
		err = once(p.Site, c, "Your password is changed. Your other sessions are closed.", func() (string, error) {
			_, err := p.Service.UpdateUser(c.Request.Context(), caller, caller.UserID, partners.UserPatch{Password: &next, CurrentPassword: &current})
			return "/compte", err
		})
	}
	if err != nil {
		// Passwords are never sent back into the form.
		v, verr := p.accountPage(c, caller)
		if verr != nil {
			return verr
		}
		if !v.fail(p.Site.Lang(c), err) {
			return err
		}
		status := http.StatusUnprocessableEntity
		if errors.Is(err, apperr.ErrRateLimited) {
			status = http.StatusTooManyRequests
		}
		p.Site.Render(c, status, "account", v)
		return nil
	}
	return nil
}

// accountLanguage records the language of the caller's pages: French,
// English, or the browser's.
func (p *Partners) accountLanguage(c *gin.Context, caller partners.Caller) error {
	lang := c.PostForm("lang")
	l, known := i18n.Parse(lang)
	if !known && lang != "" {
		return apperr.Invalid("lang", "must be fr or en")
	}
	if err := p.Service.SetLanguage(c.Request.Context(), caller, lang); err != nil {
		return err
	}
	if !known {
		l = i18n.Choose("", c.GetHeader("Accept-Language"))
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	} else {
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	}
	web.Flash(c, l.T("The language is recorded."), false)
	c.Redirect(http.StatusSeeOther, "/compte")
	return nil
}

// logoutEverywhere ends every session and API token of the caller (a lost
// phone, a shared computer), this one too.
func (p *Partners) logoutEverywhere(c *gin.Context, caller partners.Caller) error {
	if err := p.Service.LogoutEverywhere(c.Request.Context(), caller); err != nil {
		return err
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsHTTPS(c, p.BehindProxy)})
	web.Flash(c, p.Site.Lang(c).T("You are logged out everywhere: on this device and on every other."), false)
	c.Redirect(http.StatusSeeOther, "/login")
	return nil
}
