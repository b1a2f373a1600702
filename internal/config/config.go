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
	LogLevel        slog.Level
	LogFormat       string
}

// Option describes one environment variable.
type Option struct {
	Env         string
	Default     string
	Description string
	set         func(c *Config, v string) error
}

// Options is the table of every variable Tremplin reads.
var Options = []Option{
	{"TREMPLIN_DATABASE_URL", "", "a postgres:// URL, or a SQLite file path; empty means the embedded SQLite file under TREMPLIN_DATA_DIR",
		func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{"TREMPLIN_DATA_DIR", "./data", "where the embedded SQLite database lives (created if missing)",
		func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = filepath.Clean(v)
			return nil
		}},
	{"TREMPLIN_ADDR", "127.0.0.1:8080", "address `tremplin serve` listens on",
		func(c *Config, v string) error { c.Addr = v; return nil }},
	{"TREMPLIN_TOKEN_TTL", "12h", "lifetime of an API bearer token",
		durationSetter(func(c *Config) *time.Duration { return &c.TokenTTL })},
	{"TREMPLIN_SESSION_TTL", "12h", "lifetime of a web UI session",
		durationSetter(func(c *Config) *time.Duration { return &c.SessionTTL })},
	{"TREMPLIN_LOGIN_WINDOW", "15m", "window over which failed logins are counted",
		durationSetter(func(c *Config) *time.Duration { return &c.LoginWindow })},
	{"TREMPLIN_LOGIN_MAX_FAILURES", "5", "failed logins allowed per account within the window before 429",
		intSetter(func(c *Config) *int { return &c.LoginMaxPerUser })},
	{"TREMPLIN_LOGIN_MAX_FAILURES_PER_ADDRESS", "20", "failed logins allowed per client address within the window before 429",
		intSetter(func(c *Config) *int { return &c.LoginMaxPerAddr })},
	{"TREMPLIN_ARGON2_MEMORY_KIB", "19456", "memory cost of the argon2id password hash, in KiB",
		intSetter(func(c *Config) *int { return &c.Argon2MemoryKiB })},
	{"TREMPLIN_ADMIN_EMAIL", "admin@tremplin.local", "email of the first admin created on an empty database",
		func(c *Config, v string) error { c.AdminEmail = strings.ToLower(strings.TrimSpace(v)); return nil }},
	{"TREMPLIN_SHUTDOWN_TIMEOUT", "20s", "how long in-flight requests may finish after SIGTERM",
		durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"TREMPLIN_TRUSTED_PROXIES", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed",
		func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.TrustedProxies = append(c.TrustedProxies, p)
				}
			}
			return nil
		}},
	{"TREMPLIN_LOG_LEVEL", "info", "debug, info, warn or error",
		func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{"TREMPLIN_LOG_FORMAT", "json", "json or text",
		func(c *Config, v string) error {
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
			errs = append(errs, fmt.Errorf("%s=%q: %w", o.Env, v, err))
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
