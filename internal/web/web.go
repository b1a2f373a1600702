// Package web draws the web UI's pages: one place renders a page in the
// layout (top bar, menu, status area) in the reader's language, turns an
// error into a clear page, keeps a message for the next page, and makes a
// form act once however often it is sent. Domains keep only their page
// handlers; the API's problem+json has its own place, internal/problem.
package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/csvfile"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/problem"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/templates"
)

// Page is what the layout shows around every page. Views embed it; Render
// fills it in, so that handlers only build their own part.
type Page struct {
	Lang i18n.Lang
	// Loc is the site's time zone: every date and time is shown in it.
	Loc *time.Location
	// Signed in: the person, their role and their site or organisation.
	SignedIn bool
	UserID   int64
	Who      string
	Role     string
	Where    string
	Menu     []Link
	// Path is the page's path, to mark the menu entry and come back after
	// a language change.
	Path string
	// Flash is the message of the last action, shown in the status area.
	Flash    string
	FlashBad bool
	// Print is a PDF of this site the page prints as it opens (see PrintNext).
	Print string
	// FormKey makes a drawn form act once (see Site.Once).
	FormKey string
}

func (p *Page) page() *Page { return p }

type framed interface{ page() *Page }

// Frame is who looks at a page, decided by the accounts' pages: the
// language, zone, person and menu. ok is false before login.
type Frame func(c *gin.Context) (Page, bool)

// Site renders pages.
type Site struct {
	Views  *templates.Set
	Logger *slog.Logger
	Frame  Frame
	Keys   *FormKeys
	// Files are the routes that take uploaded files (the engine's set):
	// pages mount theirs with Upload.
	Files *httpx.FileRoutes
}

// Upload mounts a page that takes uploaded files; CheckForm reads them as
// a stream, and httpx.FormFile gives them to the handler.
func (s *Site) Upload(g *gin.RouterGroup, path string, h ...gin.HandlerFunc) {
	if s.Files == nil {
		panic("web.Site.Files is not set: the engine would refuse every file sent to " + path)
	}
	s.Files.POST(g, path, h...)
}

// Lang is the language of the page being drawn.
func (s *Site) Lang(c *gin.Context) i18n.Lang { return s.page(c).Lang }

const pageKey = "web.page"

// page is the frame of the request, computed once.
func (s *Site) page(c *gin.Context) Page {
	if v, ok := c.Get(pageKey); ok {
		return v.(Page)
	}
	p := Page{Lang: i18n.Choose("", c.GetHeader("Accept-Language")), Loc: time.UTC}
	if s.Frame != nil {
		if f, ok := s.Frame(c); ok {
			p = f
			p.SignedIn = true
		}
	}
	p.Path = c.Request.URL.Path
	c.Set(pageKey, p)
	return p
}

// Render shows a page and stops the chain. data must embed Page (passed by
// pointer); a template error is a bare 500 (logged), never half a page.
func (s *Site) Render(c *gin.Context, status int, name string, data any) {
	f, ok := data.(framed)
	if !ok {
		s.Logger.Error("render page: the view does not embed web.Page", "page", name)
		c.String(http.StatusInternalServerError, "Erreur interne.")
		c.Abort()
		return
	}
	p := f.page()
	*p = s.page(c)
	p.Flash, p.FlashBad = takeFlash(c)
	p.Print = takePrint(c)
	p.FormKey = newKey()
	if err := s.Views.Render(c.Writer, status, string(p.Lang), name, data); err != nil {
		s.Logger.Error("render page", "page", name, "error", err.Error(), "request_id", httpx.RequestID(c))
		c.String(http.StatusInternalServerError, "Erreur interne.")
	}
	c.Abort()
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Link is an entry of the menu or an action a page offers, decided in Go
// from the role lists the services check (never re-decided in a
// template). Label is a catalogue key.
type Link struct {
	ID      string
	Label   string
	Href    string
	Primary bool
}

// ErrorView is the error page.
type ErrorView struct {
	Page
	Title   string
	Message string
	Back    string
}

// Fail shows a clear error page; unexpected errors are logged, not shown.
func (s *Site) Fail(c *gin.Context, err error) {
	l := s.Lang(c)
	view := &ErrorView{Title: l.T("Error"), Message: l.T("Something went wrong on our side. It has been logged; try again in a moment.")}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		status, view.Title, view.Message = http.StatusNotFound, l.T("Not found"), l.T("This page or record does not exist, or you do not have access to it.")
	case errors.Is(err, apperr.ErrForbidden):
		status, view.Title, view.Message = http.StatusForbidden, l.T("Not allowed"), l.T("Your role does not allow this action.")
	case errors.Is(err, apperr.ErrConflict):
		status, view.Title, view.Message = http.StatusConflict, l.T("Not possible"), Say(l, err)
	case errors.Is(err, apperr.ErrUnsupportedMedia):
		status, view.Title, view.Message = http.StatusUnsupportedMediaType, l.T("Please correct"), l.T("This form takes no file: send it again without one.")
	case errors.Is(err, apperr.ErrInvalid), errors.Is(err, apperr.ErrMalformed), errors.Is(err, apperr.ErrTooLarge):
		status, view.Title, view.Message = http.StatusUnprocessableEntity, l.T("Please correct"), Say(l, err)
	case errors.Is(err, apperr.ErrRateLimited):
		status, view.Title, view.Message = http.StatusTooManyRequests, l.T("Too many tries"), l.T("Too many unknown codes: wait a few minutes and check the code with the person.")
	case problem.IsBusy(err):
		status, view.Title, view.Message = http.StatusServiceUnavailable, l.T("Service briefly unavailable"),
			l.T("Too many people are doing this at once. Nothing was saved: try again in a moment.")
		c.Header("Retry-After", "1")
	case problem.IsUnavailable(err):
		status, view.Title, view.Message = http.StatusServiceUnavailable, l.T("Service briefly unavailable"),
			l.T("Tremplin cannot reach its database right now. Nothing was saved: try again in a moment.")
		c.Header("Retry-After", "5")
	default:
		s.Logger.Error("page failed", "error", err.Error(), "route", httpx.LogRoute(c), "request_id", httpx.RequestID(c))
	}
	view.Back = backTo(c)
	s.Render(c, status, "error", view)
}

// backTo is the page the person came from, when it is a page of this site
// other than the one that failed: a plain link (the policy forbids scripts
// in links, and html/template drew "javascript:" as "#ZgotmplZ").
func backTo(c *gin.Context) string {
	ref, err := url.Parse(c.Request.Referer())
	if err != nil || ref.Host != c.Request.Host || !strings.HasPrefix(ref.Path, "/") || strings.HasPrefix(ref.Path, "//") {
		return ""
	}
	back := ref.EscapedPath()
	if ref.RawQuery != "" {
		back += "?" + ref.RawQuery
	}
	if !textcheck.CleanLine(back) || back == c.Request.URL.RequestURI() || ref.Path == "/login" {
		return ""
	}
	return back
}

// Unavailable is the 503 page with what to do now (a sale whose answer was
// lost says where to check it); back is the page that helps.
func (s *Site) Unavailable(c *gin.Context, message, back string) {
	l := s.Lang(c)
	c.Header("Retry-After", "5")
	s.Render(c, http.StatusServiceUnavailable, "error", &ErrorView{Title: l.T("Service briefly unavailable"), Message: message, Back: back})
}

// Spreadsheet is a CSV as a person downloads it from a page: the form
// French Excel opens in columns (csvfile.Spreadsheet), its columns named in
// the reader's language (catalogue keys "csv.<column>").
func (s *Site) Spreadsheet(c *gin.Context, body []byte) ([]byte, error) {
	l := s.Lang(c)
	return csvfile.Spreadsheet(body, func(col string) string {
		if key := "csv." + col; i18n.Translated(key) {
			return l.T(key)
		}
		return col
	})
}

// Say is an error in the reader's language: a validation error's every
// problem, a conflict's sentence; the English text when the catalogue has
// none.
func Say(l i18n.Lang, err error) string {
	var v *apperr.ValidationError
	if errors.As(err, &v) {
		msg := ""
		for i, e := range v.Listed() {
			if i > 0 {
				msg += " "
			}
			msg += SayField(l, e)
		}
		return msg
	}
	var ce *apperr.ConflictError
	if errors.As(err, &ce) {
		if ce.Key != "" && i18n.Translated(ce.Key) {
			return l.T(ce.Key, named(l, ce.Args)...)
		}
		return ce.Detail
	}
	switch {
	case errors.Is(err, ErrInProgress):
		return l.T("This form is already being processed: wait a moment, then reload the page.")
	case errors.Is(err, apperr.ErrConflict):
		return l.T("This form failed a moment ago: check the page and send it again.")
	case errors.Is(err, apperr.ErrTooLarge):
		return l.T("The file is too large.")
	}
	return l.T("The request could not be read: check what you typed.")
}

// named says the arguments that are enumerations (a device's state or
// category) by their catalogue name.
var isoDay = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func named(l i18n.Lang, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if k, ok := a.(interface{ Key() string }); ok && i18n.Translated(k.Key()) {
			out[i] = l.T(k.Key())
			continue
		}
		if k, ok := a.(interface{ Keys() []string }); ok {
			names := make([]string, 0, len(k.Keys()))
			for _, key := range k.Keys() {
				names = append(names, l.T(key))
			}
			out[i] = strings.Join(names, ", ")
			continue
		}
		// A day the domain names as 2026-12-07 is read as 07/12/2026.
		if d, ok := a.(string); ok && isoDay.MatchString(d) {
			out[i] = l.ISODate(d)
			continue
		}
		out[i] = a
	}
	return out
}

// SayField is one problem with one field or line, translated.
func SayField(l i18n.Lang, e apperr.FieldError) string {
	msg := sayMessage(l, e)
	switch {
	case e.Line > 0:
		return l.T("Line %d: %s", e.Line, msg)
	case e.Field != "":
		return sayLabel(l, e.Field) + l.T(": ") + msg
	}
	return msg
}

// sayMessage translates one problem's message. A file's line problem may
// name its field first ("brand: is required"): the field and the message
// are translated apart.
func sayMessage(l i18n.Lang, e apperr.FieldError) string {
	if e.Key == "" || l == i18n.English {
		return e.Message
	}
	if i18n.Translated(e.Key) {
		return l.T(e.Key, named(l, e.Args)...)
	}
	if field, rest, ok := strings.Cut(e.Key, ": "); ok && e.Line > 0 && i18n.Translated(rest) {
		return sayLabel(l, field) + l.T(": ") + l.T(rest, e.Args...)
	}
	return e.Message
}

// sayLabel is a field's label in the reader's language; a field without
// one (a form's own cell, such as price_smartphone_A) is said as named.
func sayLabel(l i18n.Lang, field string) string {
	if label, ok := fieldLabels[field]; ok {
		return l.T(label)
	}
	return field
}

var fieldLabels = map[string]string{
	"first_name": "First name", "last_name": "Last name", "birth_year": "Year of birth", "postal_code": "Postal code",
	"device_categories": "Categories", "devices": "Devices", "recharges": "Recharges", "valid_days": "Valid for",
	"reason": "Reason", "code": "Code", "category": "Category", "brand": "Brand", "model": "Model",
	"legal_name": "Legal name", "siren": "SIREN", "rna": "RNA number (W and nine digits)", "purpose": "Purpose (as in its statutes)",
	"barcode": "Barcode", "accessory_id": "Accessory",
	"value_cents": "Value", "valuation": "How it was valued", "donor": "Donor",
	"locks": "Locks", "locks.account": "Owner's account (iCloud, Google, Microsoft)", "locks.mdm": "Device management (MDM)",
	"locks.firmware": "Firmware password (BIOS/EFI)", "locks.blocklist": "IMEI reported lost or stolen",
	"serial": "Serial number", "imei": "IMEI", "grade": "Grade", "notes": "Notes", "method": "Method",
	"result": "Result", "price_cents": "Price", "donor_id": "Donor", "warehouse_id": "Warehouse", "note": "Note",
	"layout": "Layout", "offset": "First position", "device_ids": "Devices", "to_site_id": "Destination",
	"from_site_id": "From", "file": "File", "recycler": "Recycler", "codes": "Codes", "donation_id": "Donation",
	"quantity": "Quantity", "product_id": "Product",
	"email": "Email address", "name": "Name", "role": "Role", "organization_id": "Organisation", "kind": "Kind",
	"timezone": "Time zone", "address": "Address", "receipt_format": "Receipt printer", "label_layout": "Label stock",
	"password": "New password", "password_again": "New password again", "current_password": "Current password",
	"lang": "Language", "operator_id": "Operator", "face_value_cents": "Face value", "low_stock_threshold": "Low-stock threshold",
	"validity_days": "Validity", "site_id": "Site", "month": "Month", "pin": "PIN", "expires_on": "Expiry date",
	"handover": "Signature", "handover.signature_png": "Signature", "handover_text": "Conditions the person accepts",
	"voucher_code": "Voucher", "days": "Days", "accessories": "Accessories",
	"phone": "Mobile phone", "contact_consent": "Consent", "notify": "Message to the person",
}

// FieldErrors is a validation error laid out for a form: each field's
// first problem, to show next to it, and the whole list for the summary
// at the top. ok is false when err is not a validation error.
func FieldErrors(l i18n.Lang, err error) (byField map[string]string, all []string, ok bool) {
	var v *apperr.ValidationError
	if !errors.As(err, &v) {
		return nil, nil, false
	}
	byField = map[string]string{}
	for _, e := range v.Listed() {
		msg := sayMessage(l, e)
		if _, seen := byField[e.Field]; !seen && e.Field != "" {
			byField[e.Field] = msg
		}
		all = append(all, SayField(l, e))
	}
	return byField, all, true
}

// Refusal is a refused form laid out for its page: a validation error's
// problems by field and in full, or a conflict's (or a too large file's)
// sentence. ok is false for any other error, which gets the error page.
func Refusal(l i18n.Lang, err error) (byField map[string]string, all []string, ok bool) {
	if byField, all, ok = FieldErrors(l, err); ok {
		return byField, all, true
	}
	if errors.Is(err, apperr.ErrConflict) || errors.Is(err, apperr.ErrTooLarge) {
		return nil, []string{Say(l, err)}, true
	}
	return nil, nil, false
}

// MaxFormBytes bounds a posted form, an uploaded file included.
const MaxFormBytes = 64 << 20

// uploadInMemory is the largest uploaded file kept in memory; a larger one
// is spooled sealed (httpx.ReadMultipart).
const uploadInMemory = 1 << 20

// CheckForm reads a posted form (a multipart one as a stream, on the
// routes mounted to take files) and refuses it with a control character
// in any field, as httpx.DecodeJSON does for the API: pages never store
// what the API refuses.
func CheckForm(c *gin.Context) error {
	if c.Request.Method != http.MethodPost {
		return nil
	}
	if httpx.IsMultipart(c.Request) {
		if err := httpx.ReadMultipart(c, httpx.FormLimits{MaxBytes: MaxFormBytes, InMemory: uploadInMemory}); err != nil {
			return err
		}
	} else {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxFormBytes)
		if err := c.Request.ParseForm(); err != nil {
			if _, big := errors.AsType[*http.MaxBytesError](err); big {
				return fmt.Errorf("a form of more than %d MB: %w", MaxFormBytes>>20, apperr.ErrTooLarge)
			}
			return fmt.Errorf("form: %w", apperr.ErrMalformed)
		}
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
