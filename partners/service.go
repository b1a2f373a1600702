package partners

import (
	"time"

	"github.com/tremplin/tremplin/internal/database"
)

// LoginLimits bounds failed logins within a window, per account and per
// client address. Attempts are counted in the database, so the limits hold
// across every process behind a load balancer.
type LoginLimits struct {
	Window     time.Duration
	MaxPerUser int
	MaxPerAddr int
}

// Service is the partners domain: its store and rules.
type Service struct {
	db         *database.DB
	hasher     *Hasher
	tokenTTL   time.Duration
	sessionTTL time.Duration
	limits     LoginLimits
	now        func() time.Time
	auth       *authCache
}

// Config is what NewService needs.
type Config struct {
	DB         *database.DB
	Hasher     *Hasher
	TokenTTL   time.Duration
	SessionTTL time.Duration
	Limits     LoginLimits
	// Now is the clock; nil means database.Now.
	Now func() time.Time
}

// NewService builds the partners service.
func NewService(c Config) *Service {
	now := c.Now
	if now == nil {
		now = database.Now
	}
	s := &Service{db: c.DB, hasher: c.Hasher, tokenTTL: c.TokenTTL, sessionTTL: c.SessionTTL, limits: c.Limits, now: now, auth: newAuthCache()}
	if c.DB != nil {
		if err := s.auth.watch(c.DB.DB); err != nil {
			panic(err) // a name taken twice: a programming error, seen at start
		}
	}
	return s
}

// DB exposes the handle to the wiring code (readiness checks).
func (s *Service) DB() *database.DB { return s.db }
