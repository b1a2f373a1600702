package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/ui"

	"github.com/gin-contrib/gzip"
	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/apispec"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/config"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/internal/problem"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/sso"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
	"github.com/tremplin/tremplin/reports"
	"github.com/tremplin/tremplin/services"
	"github.com/tremplin/tremplin/templates"
)

// cli carries the process's streams and environment.
type cli struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

func (e *cli) fail(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "tremplin: "+format+"\n", args...)
	return 1
}

// flags returns a flag set that reports to stderr and does not exit.
func (e *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("tremplin "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses flags and refuses stray arguments; the int is the exit code
// when it fails.
// Flags may come after the arguments too (tremplin restore FILE
// --database URL), as people write them.
func (e *cli) parse(fs *flag.FlagSet, args []string, allowed int) ([]string, int, bool) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		if fs.NArg() == 0 {
			break
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	if len(rest) > allowed {
		fmt.Fprintf(e.stderr, "tremplin: unexpected argument %q\n", rest[allowed])
		fs.Usage()
		return nil, 2, false
	}
	return rest, 0, true
}

// command starts a command that works on a database: the configuration,
// and a flag set that already offers --database (every command has it).
// The configuration is returned by address, for the command's own flags.
func (e *cli) command(name string) (*config.Config, *flag.FlagSet, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, nil, err
	}
	fs := e.flags(name)
	fs.StringVar(&cfg.DatabaseURL, "database", cfg.DatabaseURL, "postgres:// URL or SQLite file path (TREMPLIN_DATABASE_URL)")
	return &cfg, fs, nil
}

func (e *cli) config() (config.Config, error) {
	cfg, err := config.Load(e.lookup)
	if err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func (e *cli) logger(cfg config.Config) *slog.Logger {
	return slog.New(logHandler(cfg, e.stderr))
}

func logHandler(cfg config.Config, w io.Writer) slog.Handler {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}

// openDatabase resolves and opens the configured database.
func openDatabase(ctx context.Context, cfg config.Config, create bool) (*database.DB, error) {
	t, err := database.Resolve(cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// Only serve and migrate up make a database: a check of a mistyped path
	// must not create an empty file and talk of pending migrations.
	if !create && t.Engine == database.SQLite {
		if _, err := os.Stat(t.Where); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: start `tremplin serve` there once to create it, or point --database (TREMPLIN_DATABASE_URL) at the right file", t.Where)
		}
	}
	db, err := database.Open(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("%w\n  check --database / TREMPLIN_DATABASE_URL and that the server is running", err)
	}
	return db, nil
}

// services is every domain's service, built once per process.
// app is what the binary serves: the domains' services, built by
// services.New, and the ways to reach people.
type app struct {
	db           *database.DB
	partners     *partners.Service
	recharges    *recharges.Service
	accessories  *accessories.Service
	inventory    *inventory.Service
	distribution *distribution.Service
	// senders reach people by SMS or email, by channel (none: off).
	senders map[string]notify.Sender
}

// loadKeys returns the keyring that seals recharge PINs: TREMPLIN_SECRET_KEY,
// or on the embedded SQLite default a key generated once into the data
// directory (said on out). PostgreSQL deployments must set the key: several
// processes have to share it.
func loadKeys(cfg config.Config, engine database.Engine, out io.Writer) (*secrets.Keyring, error) {
	var current []byte
	switch {
	case cfg.SecretKey != "":
		k, err := secrets.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("TREMPLIN_SECRET_KEY: %w", err)
		}
		current = k
	case engine == database.Postgres:
		return nil, errors.New("TREMPLIN_SECRET_KEY is required with PostgreSQL (every process must share it): " +
			"generate one with `openssl rand -base64 32` and keep it safe")
	default:
		path := filepath.Join(cfg.DataDir, "secret.key")
		k, created, err := secrets.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("PIN key: %w", err)
		}
		if created {
			fmt.Fprintf(out, "Generated the key that seals recharge PINs in %s. Back it up with the database: without it the PINs cannot be read.\n", path)
		}
		current = k
	}
	var previous [][]byte
	for _, p := range cfg.PreviousKeys {
		k, err := secrets.ParseKey(p)
		if err != nil {
			return nil, fmt.Errorf("TREMPLIN_SECRET_KEY_PREVIOUS: %w", err)
		}
		previous = append(previous, k)
	}
	return secrets.NewKeyring(current, previous...)
}

func newServices(cfg config.Config, db *database.DB, keys *secrets.Keyring) (*app, error) {
	senders, err := messageSenders(cfg)
	if err != nil {
		return nil, err
	}
	var channels []string
	for ch := range senders {
		channels = append(channels, ch)
	}
	g, err := services.New(services.Config{DB: db, Keys: keys, Argon2MemoryKiB: cfg.Argon2MemoryKiB, TokenTTL: cfg.TokenTTL, SessionTTL: cfg.SessionTTL,
		Logins:  partners.LoginLimits{Window: cfg.LoginWindow, MaxPerUser: cfg.LoginMaxPerUser, MaxPerAddr: cfg.LoginMaxPerAddr},
		Lookups: distribution.LookupLimits{Window: cfg.VoucherWindow, Max: cfg.VoucherMaxFails},
		Policy:  distribution.Policy{DevicesPerYear: cfg.DevicesPerYear, WarrantyMonths: cfg.WarrantyMonths}, Channels: channels})
	if err != nil {
		return nil, err
	}
	return &app{senders: senders, db: db, partners: g.Partners, recharges: g.Recharges, accessories: g.Accessories, inventory: g.Inventory,
		distribution: g.Distribution}, nil
}

// messageSenders are the ways to reach people this configuration sets up:
// an SMS provider with a key and a sender, an SMTP server with a from
// address. Half a setting is an error, not a silent "off".
func messageSenders(cfg config.Config) (map[string]notify.Sender, error) {
	out := map[string]notify.Sender{}
	switch {
	case cfg.SMSAPIKey != "" && cfg.SMSSender != "":
		out[notify.SMS] = notify.Brevo{URL: cfg.SMSAPIURL, APIKey: cfg.SMSAPIKey, Sender: cfg.SMSSender}
	case cfg.SMSAPIKey != "" || cfg.SMSSender != "":
		return nil, fmt.Errorf("SMS: set both TREMPLIN_SMS_API_KEY and TREMPLIN_SMS_SENDER, or neither")
	}
	switch {
	case cfg.SMTPURL != "" && cfg.MailFrom != "":
		m, err := notify.ParseSMTP(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			return nil, err
		}
		out[notify.Email] = m
	case cfg.SMTPURL != "" || cfg.MailFrom != "":
		return nil, fmt.Errorf("email: set both TREMPLIN_SMTP_URL and TREMPLIN_MAIL_FROM, or neither")
	}
	return out, nil
}

// newRouter mounts every domain on one engine. The returned handler adds
// cross-origin protection, which refuses cross-site form posts.
func newRouter(cfg config.Config, s *app, logger *slog.Logger, metrics *httpx.Metrics) (*gin.Engine, http.Handler, error) {
	views, err := templates.Load()
	if err != nil {
		return nil, nil, err
	}
	provider, err := sso.New(sso.Config{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret, Name: cfg.OIDCName})
	if err != nil {
		return nil, nil, err
	}
	site := &web.Site{Views: views, Logger: logger,
		Keys: &web.FormKeys{DB: s.db, Wait: 5 * time.Second, Keep: 7 * 24 * time.Hour}, Files: httpx.NewFileRoutes()}
	e, err := httpx.NewEngine(httpx.Deps{Logger: logger, Metrics: metrics, TrustedProxies: cfg.TrustedProxies, PageFail: site.Fail, Files: site.Files,
		PublicURL: cfg.PublicURL})
	if err != nil {
		return nil, nil, err
	}
	// Pages and static files travel compressed (a page and its assets stay
	// under 150 KB on a slow line); the API, the metrics (which compress
	// themselves) and PDFs do not. The fastest level: a page redrawn at
	// every scan of every counter paid a tenth of the server's time in the
	// default level, twice this one's, for a page 6% smaller.
	e.Use(gzip.Gzip(gzip.BestSpeed,
		gzip.WithExcludedPaths([]string{"/api/", "/metrics", "/healthz", "/readyz"}),
		gzip.WithExcludedExtensions([]string{".pdf", ".png"})))

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", httpx.Handle(func(c *gin.Context) error {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			return fmt.Errorf("database %s does not answer: %w", s.db.Engine, apperr.ErrUnavailable)
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready", "database": s.db.Engine})
		return nil
	}))
	if err := metrics.Registry.Register(&reports.Gauges{DB: s.db, TTL: 10 * time.Second}); err != nil {
		return nil, nil, fmt.Errorf("stock gauges: %w", err)
	}
	e.GET("/metrics", metrics.Guarded(cfg.MetricsToken))
	e.GET("/api/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", apispec.JSON) })
	e.GET("/api/docs", apiDocs)
	static := gin.WrapH(http.StripPrefix("/static", views.Static())) // files only: a folder is a 404, never a listing
	e.GET("/static/*file", static)
	e.HEAD("/static/*file", static)

	factors, err := reports.LoadFactors(cfg.ImpactFactors)
	if err != nil {
		return nil, nil, fmt.Errorf("TREMPLIN_IMPACT_FACTORS: %w", err)
	}
	g := &services.Services{DB: s.db, Partners: s.partners, Recharges: s.recharges, Accessories: s.accessories, Inventory: s.inventory,
		Distribution: s.distribution}
	figuresRead := &reports.Service{DB: s.db, Factors: factors}
	// Public lookups (a certificate's page, its verification): 20 at once
	// per address, then one every 3 seconds.
	lookups := httpx.NewClientLimiter(3*time.Second, 20)
	if err := api.Mount(e, api.Config{Services: g, Reports: figuresRead, Files: site.Files, Lookups: lookups}); err != nil {
		return nil, nil, err
	}
	if err := ui.Mount(e, ui.Config{Services: g, Reports: figuresRead, Site: site, Lookups: lookups, BehindProxy: len(cfg.TrustedProxies) > 0,
		SSO: provider, PublicURL: cfg.PublicURL, AnonymiseAfter: cfg.AnonymiseAfter}); err != nil {
		return nil, nil, err
	}

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Send(w, problem.Problem{Type: problem.TypeURI("cross-origin"), Title: "Cross-origin request refused",
			Status: http.StatusForbidden, Detail: "this form was posted from another site; open Tremplin directly and try again"})
	}))
	return e, cop.Handler(e), nil
}

// apiDocsPage is the readable API reference: Redoc (vendored from npm, see
// templates/static/vendor/redoc) reading /api/openapi.json.
const apiDocsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tremplin API reference</title>
</head>
<body>
<redoc spec-url="/api/openapi.json" hide-download-button="false"></redoc>
<script src="/static/vendor/redoc/redoc.standalone.js"></script>
</body>
</html>
`

// apiDocs serves the API reference. Redoc styles itself inline and searches
// in a worker, which the site's default policy forbids: this page alone
// allows them.
func apiDocs(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
		"worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(apiDocsPage))
}

// apiRoute tells whether a route belongs in the OpenAPI document (the web
// pages and static files do not).
func apiRoute(path string) bool { return httpx.IsAPIPath(path) }

// openServices opens the configured database, refuses a schema that is not
// current, and builds the services; keys are loaded when withKeys. It
// returns a close function, or an exit code.
func (e *cli) openServices(ctx context.Context, cfg config.Config, withKeys bool) (*app, func(), int) {
	db, err := openDatabase(ctx, cfg, false)
	if err != nil {
		return nil, nil, e.fail("%v", err)
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, nil, e.fail("%v (run `tremplin migrate up` first)", err)
	}
	var keys *secrets.Keyring
	if withKeys {
		if keys, err = loadKeys(cfg, db.Engine, e.stdout); err != nil {
			db.Close()
			return nil, nil, e.fail("%v", err)
		}
	}
	svc, err := newServices(cfg, db, keys)
	if err != nil {
		db.Close()
		return nil, nil, e.fail("%v", err)
	}
	return svc, func() { _ = db.Close() }, 0
}
