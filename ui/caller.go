package ui

import (
	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// currentCaller is who the session middleware let in.
func currentCaller(c *gin.Context) (partners.Caller, error) {
	return partners.CallerFrom(c.Request.Context())
}

// withCaller mounts a page handler that needs who is signed in (the
// session middleware let them in): pages are written as the API's
// handlers are, their error answered by httpx.Handle.
func withCaller(h func(c *gin.Context, caller partners.Caller) error) gin.HandlerFunc {
	return httpx.Handle(func(c *gin.Context) error {
		caller, err := currentCaller(c)
		if err != nil {
			return err
		}
		return h(c, caller)
	})
}

// withRecord is withCaller for a page about one record: the path's :id
// too (anything but a positive number is a 404).
func withRecord(h func(c *gin.Context, caller partners.Caller, id int64) error) gin.HandlerFunc {
	return withCaller(func(c *gin.Context, caller partners.Caller) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		return h(c, caller, id)
	})
}

// once runs do once per form (a form sent twice does it once, and the
// second answer is the first's), then sends the browser where do says,
// with msg said in the reader's language (none when msg is "": do may
// have flashed its own).
func once(site *web.Site, c *gin.Context, msg string, do func() (string, error)) error {
	to, repeated, err := site.Once(c, do)
	if err != nil {
		return err
	}
	if msg != "" {
		msg = site.Lang(c).T(msg)
	}
	site.Done(c, to, repeated, msg)
	return nil
}
