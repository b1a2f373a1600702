package web

import (
	"net/http"
	"net/url"
	"strings"

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

// printCookie names the PDF the next page prints: « Enregistrer et
// imprimer » prints where the scanner is, without a new tab taking the
// focus from the scan field.
const printCookie = "tremplin_print"

// PrintNext asks the next page to print the PDF at path (one of
// Tremplin's own, such as /appareils/TEL-00012/etiquette.pdf).
func PrintNext(c *gin.Context, path string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: printCookie, Value: url.QueryEscape(path), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(c)})
}

// takePrint reads and clears the PDF to print: only a path of this site
// that names a PDF, never another origin.
func takePrint(c *gin.Context) string {
	raw, err := c.Cookie(printCookie)
	if err != nil || raw == "" {
		return ""
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: printCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(c)})
	v, err := url.QueryUnescape(raw)
	if err != nil || !ownPDF(v) {
		return ""
	}
	return v
}

func ownPDF(p string) bool {
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") &&
		!strings.HasPrefix(p, "//") && !strings.Contains(p, "\\") && strings.HasSuffix(u.Path, ".pdf")
}
