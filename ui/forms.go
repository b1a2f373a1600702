package ui

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
)

// formView carries a form's values and its errors, by field and in full.
// A page's view embeds it for its form.
type formView struct {
	Form        url.Values
	FieldErrors map[string]string
	Errors      []string
}

// fail lays a validation error or a conflict out on the form, or tells
// that err is another kind of error (the error page then says it).
func (f *formView) fail(l i18n.Lang, err error) bool {
	fields, all, ok := web.Refusal(l, err)
	if ok {
		f.FieldErrors, f.Errors = fields, all
	}
	return ok
}

// refusable is a page's view whose form can say why it was refused.
type refusable interface{ fail(i18n.Lang, error) bool }

// reshow shows a form's page again (422) with err laid out on it; an
// error that is not a refusal goes to the error page.
func reshow(site *web.Site, c *gin.Context, page string, v refusable, err error) error {
	if !v.fail(site.Lang(c), err) {
		return err
	}
	site.Render(c, http.StatusUnprocessableEntity, page, v)
	return nil
}

// submit is a form sent: unless its fields were already refused (checked),
// do runs once and the browser goes where it says, told msg; a refusal,
// the fields' or the service's, shows the page again with the form.
func submit(site *web.Site, c *gin.Context, page string, v refusable, checked error, msg string, do func() (string, error)) error {
	if checked == nil {
		if checked = once(site, c, msg, do); checked == nil {
			return nil
		}
	}
	return reshow(site, c, page, v, checked)
}
