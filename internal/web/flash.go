package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
)

// The status area's message survives the redirect after a form in a
// short-lived cookie, read once by the next page.
const flashCookie = "tremplin_flash"

// Flash keeps a message (already in the reader's language) for the next
// page; bad marks a refusal.
func Flash(c *gin.Context, msg string, bad bool) {
	v := "ok:" + msg
	if bad {
		v = "no:" + msg
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(v), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(c)})
}

// takeFlash reads and clears the message.
func takeFlash(c *gin.Context) (string, bool) {
	raw, err := c.Cookie(flashCookie)
	if err != nil || raw == "" {
		return "", false
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(c)})
	v, err := url.QueryUnescape(raw)
	if err != nil || len(v) < 3 {
		return "", false
	}
	return v[3:], v[:3] == "no:"
}
