// Package httpx is the HTTP plumbing shared by the domains: the Gin engine and
// its middleware (request id, recovery, metrics, logs, security headers),
// handlers that return errors, JSON decoding and list pagination.
package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/problem"
	"github.com/tremplin/tremplin/internal/textcheck"
)

// Deps is what the engine needs.
type Deps struct {
	Logger         *slog.Logger
	Metrics        *Metrics
	TrustedProxies []string
	// PageFail, when set, answers errors on the web UI's paths (anything
	// outside /api/ and the operational routes) with an HTML page.
	PageFail func(c *gin.Context, err error)
	// Files are the routes that take uploaded files; every other route
	// refuses a multipart body unread.
	Files *FileRoutes
	// PublicURL is the address people reach Tremplin at (printed in QR
	// codes); empty, it is read from each request.
	PublicURL string
}

const requestIDKey = "tremplin.request_id"

// NewEngine returns a Gin engine with Tremplin's middleware, ready for the
// domains to mount their routes on.
func NewEngine(d Deps) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// Gin trusts every proxy by default; trust only the configured ones.
	if err := e.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	behindProxy := len(d.TrustedProxies) > 0
	e.Use(requestID(), recovery(d.Logger), securityHeaders(), func(c *gin.Context) { c.Set(behindProxyKey, behindProxy) })
	if d.PageFail != nil {
		e.Use(func(c *gin.Context) { c.Set(pageFailKey, d.PageFail) })
	}
	if d.Metrics != nil {
		e.Use(d.Metrics.middleware())
	}
	e.Use(uploads(d.Files), accessLog(d.Logger), cleanParams())
	if u := strings.TrimRight(d.PublicURL, "/"); u != "" {
		e.Use(func(c *gin.Context) { c.Set(publicURLKey, u) })
	}
	e.NoRoute(func(c *gin.Context) {
		Fail(c, fmt.Errorf("%s %s: %w", c.Request.Method, c.Request.URL.Path, apperr.ErrNotFound))
	})
	e.NoMethod(func(c *gin.Context) {
		// A page's address that only takes a form (shown after a refused
		// form, then reloaded or bookmarked) leads back to the page the
		// form was on, not to an error.
		if p := c.Request.URL.Path; !IsAPIPath(p) && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) {
			parent := p[:strings.LastIndex(strings.TrimSuffix(p, "/"), "/")+1]
			if len(parent) > 1 {
				parent = strings.TrimSuffix(parent, "/")
			}
			c.Redirect(http.StatusSeeOther, parent)
			c.Abort()
			return
		}
		problem.Send(c.Writer, problem.Problem{Type: problem.TypeURI("method-not-allowed"), Title: "Method not allowed",
			Status: http.StatusMethodNotAllowed, Detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path,
			RequestID: RequestID(c)})
		c.Abort()
	})
	return e, nil
}

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(c *gin.Context) error

// Handle adapts a HandlerFunc: a returned error becomes problem+json.
func Handle(h HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			Fail(c, err)
		}
	}
}

const pageFailKey = "tremplin.page_fail"

// IsAPIPath tells the paths answered in JSON (problem+json on error) from the
// web UI's pages.
func IsAPIPath(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// cleanParams refuses query and path parameters holding a control character
// or invalid UTF-8 (422 naming the parameter) before any handler reads them.
// Tabs and line breaks pass: a scanner may end a code with CR LF, and the
// handlers trim them.
func cleanParams() gin.HandlerFunc {
	return func(c *gin.Context) {
		v := &apperr.ValidationError{}
		for name, vals := range c.Request.URL.Query() {
			if !textcheck.Clean(name) {
				v.Field("query", "a parameter name %s", textcheck.Message)
				continue
			}
			for _, s := range vals {
				if !textcheck.Clean(s) {
					v.Field(name, textcheck.Message)
					break
				}
			}
		}
		for _, p := range c.Params {
			if !textcheck.Clean(p.Value) {
				v.Field(p.Key, textcheck.Message)
			}
		}
		if err := v.Err(); err != nil {
			Fail(c, err)
			return
		}
		c.Next()
	}
}

// Fail answers with the problem for err (an HTML page on the web UI's
// paths, when the engine has PageFail) and stops the chain.
func Fail(c *gin.Context, err error) {
	if pf, ok := c.Get(pageFailKey); ok && !IsAPIPath(c.Request.URL.Path) {
		_ = c.Error(err)
		pf.(func(*gin.Context, error))(c, err)
		c.Abort()
		return
	}
	logger, _ := c.Get(loggerKey)
	l, ok := logger.(*slog.Logger)
	if !ok {
		l = slog.Default()
	}
	_ = c.Error(err)
	problem.Write(c.Writer, c.Request, LogRoute(c), l, RequestID(c), err)
	c.Abort()
}

// RequestID returns the id of the request, also sent back as X-Request-ID.
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		ctx := audit.WithActor(c.Request.Context(), audit.Actor{IP: c.ClientIP(), RequestID: id})
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

const loggerKey = "tremplin.logger"

func recovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(loggerKey, logger)
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			logger.Error("panic", "panic", fmt.Sprint(rec), "method", c.Request.Method,
				"route", c.FullPath(), "request_id", RequestID(c), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				problem.Send(c.Writer, problem.Problem{Type: problem.TypeURI("internal"), Title: "Internal error",
					Status: http.StatusInternalServerError, Detail: "something went wrong on our side; it has been logged",
					RequestID: RequestID(c)})
			}
			c.Abort()
		}()
		c.Next()
	}
}

func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		// 'wasm-unsafe-eval' lets the camera's barcode reader (WebAssembly,
		// served from here) compile; it allows no script from elsewhere.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; "+
			"frame-ancestors 'none'; form-action 'self'")
		c.Next()
	}
}

func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		level := slog.LevelInfo
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		status := c.Writer.Status()
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("method", c.Request.Method),
			slog.String("route", LogRoute(c)),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("ip", c.ClientIP()),
			slog.String("request_id", RequestID(c)),
		}
		if a := audit.ActorFrom(c.Request.Context()); a.UserID != nil {
			attrs = append(attrs, slog.Int64("user_id", *a.UserID))
		}
		logger.LogAttrs(c.Request.Context(), level, "request", attrs...)
	}
}

// LogRoute is what the logs say of a request's address: its route's
// pattern (/bons/:code), never the path, which may hold a voucher's code (a
// bearer secret); an address no route matched by its first segment alone.
func LogRoute(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	p := c.Request.URL.Path
	if i := strings.IndexByte(strings.TrimPrefix(p, "/"), '/'); i >= 0 {
		p = p[:i+1] + "/…"
	}
	if len(p) > 40 || !textcheck.CleanLine(p) {
		return "(unmatched)"
	}
	return p + " (unmatched)"
}

const behindProxyKey = "tremplin.behind_proxy"

// Secure tells whether the client reached us over TLS, as IsHTTPS with the
// engine's own proxies: every cookie Tremplin sets is Secure then.
const publicURLKey = "tremplin.public_url"

// PublicURL is the address of Tremplin as people reach it, for what is
// printed (a certificate's QR code): the configured one, else the
// request's own scheme and host.
func PublicURL(c *gin.Context) string {
	if u := c.GetString(publicURLKey); u != "" {
		return u
	}
	scheme := "http"
	if Secure(c) {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host
}

func Secure(c *gin.Context) bool { return IsHTTPS(c, c.GetBool(behindProxyKey)) }

// IsHTTPS tells whether the client reached us over TLS, directly or through a
// trusted proxy that says so.
func IsHTTPS(c *gin.Context, behindProxy bool) bool {
	if c.Request.TLS != nil {
		return true
	}
	return behindProxy && strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https")
}
