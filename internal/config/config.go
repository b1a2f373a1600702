// Package config reads Tremplin's settings from the environment into one typed
// struct. Every option lives in the Options table below, which is also what the
// README's configuration table is written from.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tremplin/tremplin/internal/secrets"
)

// Config is every setting Tremplin reads at start. Command-line flags override
// the environment after Load.
type Config struct {
	DatabaseURL     string
	DataDir         string
	Addr            string
	TokenTTL        time.Duration
	SessionTTL      time.Duration
	LoginWindow     time.Duration
	LoginMaxPerUser int
	LoginMaxPerAddr int
	Argon2MemoryKiB int
	AdminEmail      string
	ShutdownTimeout time.Duration
	TrustedProxies  []string
	MetricsToken    string
	PublicURL       string
	LogLevel        slog.Level
	LogFormat       string
	SecretKey       string
	PreviousKeys    []string
	VoucherWindow   time.Duration
	VoucherMaxFails int
	AnonymiseAfter  string
	ImpactFactors   string
	DevicesPerYear  int
	WarrantyMonths  int
	// Messages to people: Brevo's SMS API, and SMTP for email.
	SMSAPIKey string
	SMSSender string
	SMSAPIURL string
	SMTPURL   string
	MailFrom  string
	// Backups: where serve takes the day's copy ("" on PostgreSQL: none),
	// and how many it keeps.
	BackupDir  string
	BackupKeep int
	// Single sign-on with an OpenID Connect provider (ProConnect).
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCName         string
}

// Option describes one environment variable.
type Option struct {
	Env         string
	Default     string
	Description string
	set         func(c *Config, v string) error
	// secret values are never repeated in error messages.
	secret bool
}

// Options is the table of every variable Tremplin reads.
var Options = []Option{
	{Env: "TREMPLIN_DATABASE_URL", Default: "", Description: "a postgres:// URL, or a SQLite file path; empty means the embedded SQLite file under TREMPLIN_DATA_DIR",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{Env: "TREMPLIN_DATA_DIR", Default: "./data", Description: "where the embedded SQLite database lives (created if missing)",
		set: func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = filepath.Clean(v)
			return nil
		}},
	{Env: "TREMPLIN_ADDR", Default: "127.0.0.1:8080", Description: "address `tremplin serve` listens on",
		set: func(c *Config, v string) error { c.Addr = v; return nil }},
	{Env: "TREMPLIN_TOKEN_TTL", Default: "12h", Description: "lifetime of an API bearer token",
		set: durationSetter(func(c *Config) *time.Duration { return &c.TokenTTL })},
	{Env: "TREMPLIN_SESSION_TTL", Default: "12h", Description: "lifetime of a web UI session",
		set: durationSetter(func(c *Config) *time.Duration { return &c.SessionTTL })},
	{Env: "TREMPLIN_LOGIN_WINDOW", Default: "15m", Description: "window over which failed logins are counted",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LoginWindow })},
	{Env: "TREMPLIN_LOGIN_MAX_FAILURES", Default: "5", Description: "failed logins allowed per account within the window before 429",
		set: intSetter(func(c *Config) *int { return &c.LoginMaxPerUser })},
	{Env: "TREMPLIN_LOGIN_MAX_FAILURES_PER_ADDRESS", Default: "20", Description: "failed logins allowed per client address within the window before 429",
		set: intSetter(func(c *Config) *int { return &c.LoginMaxPerAddr })},
	{Env: "TREMPLIN_ARGON2_MEMORY_KIB", Default: "19456", Description: "memory cost of the argon2id password hash, in KiB",
		set: intSetter(func(c *Config) *int { return &c.Argon2MemoryKiB })},
	{Env: "TREMPLIN_ADMIN_EMAIL", Default: "admin@tremplin.local", Description: "email of the first admin created on an empty database",
		set: func(c *Config, v string) error { c.AdminEmail = strings.ToLower(strings.TrimSpace(v)); return nil }},
	{Env: "TREMPLIN_SHUTDOWN_TIMEOUT", Default: "20s", Description: "how long in-flight requests may finish after SIGTERM",
		set: durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Env: "TREMPLIN_TRUSTED_PROXIES", Default: "", Description: "comma-separated proxy addresses or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed",
		set: func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.TrustedProxies = append(c.TrustedProxies, p)
				}
			}
			return nil
		}},
	{Env: "TREMPLIN_PUBLIC_URL", Default: "", Description: "the address people reach Tremplin at, such as https://tremplin.example.org, printed in the erasure certificates' QR codes; without it, the address of the request",
		set: func(c *Config, v string) error {
			v = strings.TrimRight(strings.TrimSpace(v), "/")
			if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("%q is not an http(s) address", v)
			}
			c.PublicURL = v
			return nil
		}},
	{Env: "TREMPLIN_SMS_API_KEY", Default: "", Description: "Brevo API key: with TREMPLIN_SMS_SENDER, vouchers and reservations can be sent to people by SMS",
		secret: true, set: func(c *Config, v string) error { c.SMSAPIKey = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_SMS_SENDER", Default: "", Description: "the SMS sender people see (at most 11 letters and digits, such as Tremplin)",
		set: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if len(v) > 15 {
				return fmt.Errorf("%q: a sender is at most 11 letters and digits, or a phone number", v)
			}
			c.SMSSender = v
			return nil
		}},
	{Env: "TREMPLIN_SMS_API_URL", Default: "https://api.brevo.com/v3/transactionalSMS/sms", Description: "the whole URL of Brevo's transactional SMS endpoint",
		set: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("%q is not an http(s) address", v)
			}
			c.SMSAPIURL = v
			return nil
		}},
	{Env: "TREMPLIN_SMTP_URL", Default: "", Description: "smtp://user:password@host:port of the server that sends email to people (with TREMPLIN_MAIL_FROM)",
		secret: true, set: func(c *Config, v string) error { c.SMTPURL = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_MAIL_FROM", Default: "", Description: "the address emails to people come from, such as Tremplin <bonjour@example.org>",
		set: func(c *Config, v string) error { c.MailFrom = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_METRICS_TOKEN", Default: "", Description: "bearer token a Prometheus scraper sends for /metrics from another machine; without it /metrics answers this machine only",
		secret: true, set: func(c *Config, v string) error { c.MetricsToken = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_VOUCHER_LOOKUP_WINDOW", Default: "15m", Description: "window over which a user's failed voucher lookups are counted",
		set: durationSetter(func(c *Config) *time.Duration { return &c.VoucherWindow })},
	{Env: "TREMPLIN_VOUCHER_LOOKUP_MAX_FAILURES", Default: "20", Description: "mistyped or unknown voucher codes a user may try within the window before 429",
		set: intSetter(func(c *Config) *int { return &c.VoucherMaxFails })},
	{Env: "TREMPLIN_ANONYMISE_AFTER", Default: "24mo", Description: "beneficiaries with no activity for this long (24mo months, 2y years, 90d days) lose their names, daily",
		set: func(c *Config, v string) error {
			var n int
			var unit rune
			if _, err := fmt.Sscanf(v, "%d%c", &n, &unit); err != nil || n <= 0 || (unit != 'y' && unit != 'm' && unit != 'd') {
				return errors.New("write a period such as 24mo (months), 2y (years) or 90d (days)")
			}
			c.AnonymiseAfter = v
			return nil
		}},
	{Env: "TREMPLIN_IMPACT_FACTORS", Default: "", Description: "a JSON file of the donor report's environmental factors per device category, each with its source; empty: ADEME's published figures for smartphones and laptops",
		set: func(c *Config, v string) error { c.ImpactFactors = v; return nil }},
	{Env: "TREMPLIN_POLICY_DEVICES_PER_YEAR", Default: "2", Description: "devices one person may buy over 12 months, across all their vouchers (0: no limit)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("must be a whole number, 0 or more")
			}
			c.DevicesPerYear = n
			return nil
		}},
	{Env: "TREMPLIN_WARRANTY_MONTHS", Default: "6", Description: "months during which a sold device may be brought back and refunded",
		set: intSetter(func(c *Config) *int { return &c.WarrantyMonths })},
	{Env: "TREMPLIN_SECRET_KEY", Description: "32 random bytes in base64 that seal recharge PINs (AES-256-GCM); required with PostgreSQL; without it the embedded default keeps a generated key in TREMPLIN_DATA_DIR/secret.key",
		set: func(c *Config, v string) error {
			c.SecretKey = strings.TrimSpace(v)
			if c.SecretKey != "" {
				if _, err := secrets.ParseKey(c.SecretKey); err != nil {
					return err
				}
			}
			return nil
		}, secret: true},
	{Env: "TREMPLIN_SECRET_KEY_PREVIOUS", Description: "comma-separated earlier keys, still accepted to open PINs until `tremplin keys rotate` has re-sealed them",
		set: func(c *Config, v string) error {
			c.PreviousKeys = nil
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k == "" {
					continue
				}
				if _, err := secrets.ParseKey(k); err != nil {
					return err
				}
				c.PreviousKeys = append(c.PreviousKeys, k)
			}
			return nil
		}, secret: true},
	{Env: "TREMPLIN_BACKUP_DIR", Default: "", Description: "where `tremplin serve` takes a backup every day from 03:00 (or at its next start) and `tremplin backup` writes one; empty: TREMPLIN_DATA_DIR/backups on the embedded SQLite, no daily backup on PostgreSQL",
		set: func(c *Config, v string) error {
			if v = strings.TrimSpace(v); v != "" {
				v = filepath.Clean(v)
			}
			c.BackupDir = v
			return nil
		}},
	{Env: "TREMPLIN_BACKUP_KEEP", Default: "14", Description: "how many of its daily backups `tremplin serve` keeps (the oldest are removed)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return errors.New("must be a whole number, 1 or more")
			}
			c.BackupKeep = n
			return nil
		}},
	{Env: "TREMPLIN_OIDC_ISSUER", Default: "", Description: "the OpenID Connect provider's issuer URL (ProConnect's, or any provider's): with the client id and secret, the login page offers single sign-on",
		set: func(c *Config, v string) error {
			v = strings.TrimRight(strings.TrimSpace(v), "/")
			if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("%q is not an http(s) address", v)
			}
			c.OIDCIssuer = v
			return nil
		}},
	{Env: "TREMPLIN_OIDC_CLIENT_ID", Default: "", Description: "the client id the provider gave Tremplin",
		set: func(c *Config, v string) error { c.OIDCClientID = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_OIDC_CLIENT_SECRET", Default: "", Description: "the client secret the provider gave Tremplin",
		secret: true, set: func(c *Config, v string) error { c.OIDCClientSecret = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_OIDC_NAME", Default: "ProConnect", Description: "the provider's name on the login page's button (« Se connecter avec ProConnect »)",
		set: func(c *Config, v string) error { c.OIDCName = strings.TrimSpace(v); return nil }},
	{Env: "TREMPLIN_LOG_LEVEL", Default: "info", Description: "debug, info, warn or error",
		set: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{Env: "TREMPLIN_LOG_FORMAT", Default: "json", Description: "json or text",
		set: func(c *Config, v string) error {
			if v != "json" && v != "text" {
				return errors.New("must be json or text")
			}
			c.LogFormat = v
			return nil
		}},
}

// Load builds a Config from defaults overridden by lookup (os.LookupEnv in
// production, a map in tests). Every bad value is reported, not just the first.
func Load(lookup func(string) (string, bool)) (Config, error) {
	var c Config
	var errs []error
	for _, o := range Options {
		v := o.Default
		if got, ok := lookup(o.Env); ok {
			v = got
		}
		if err := o.set(&c, v); err != nil {
			if o.secret {
				errs = append(errs, fmt.Errorf("%s: %w", o.Env, err))
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: %w", o.Env, v, err))
			}
		}
	}
	return c, errors.Join(errs...)
}

func durationSetter(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("not a duration such as 30s, 15m or 12h")
		}
		if d <= 0 {
			return errors.New("must be positive")
		}
		*field(c) = d
		return nil
	}
}

func intSetter(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("not a whole number")
		}
		if n <= 0 {
			return errors.New("must be positive")
		}
		*field(c) = n
		return nil
	}
}
