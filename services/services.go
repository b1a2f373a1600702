// Package services builds the domains' services wired to each other: the
// one place the graph is built, for the binary, the test networks and the
// domains' fixtures alike, so that a new service or setting is added once.
package services

import (
	"fmt"
	"time"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Config is what the graph needs from its caller.
type Config struct {
	DB *database.DB
	// Keys seal and open the recharge PINs (nil for a command that
	// touches none).
	Keys *secrets.Keyring
	// Argon2MemoryKiB is what hashing one password takes (tests pass a
	// small value: the suite hashes thousands).
	Argon2MemoryKiB int
	TokenTTL        time.Duration
	SessionTTL      time.Duration
	Logins          partners.LoginLimits
	Lookups         distribution.LookupLimits
	Policy          distribution.Policy
	// Channels are the ways to reach people that are set up (sms, email).
	Channels []string
	// Now is every service's clock; nil is database.Now.
	Now func() time.Time
}

// Services are the domains' services, each wired to those below it.
type Services struct {
	DB           *database.DB
	Partners     *partners.Service
	Recharges    *recharges.Service
	Accessories  *accessories.Service
	Inventory    *inventory.Service
	Distribution *distribution.Service
}

// New builds the graph.
func New(cfg Config) (*Services, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("services: a database is required")
	}
	hasher, err := partners.NewHasher(cfg.Argon2MemoryKiB)
	if err != nil {
		return nil, err
	}
	s := &Services{DB: cfg.DB}
	s.Partners = partners.NewService(partners.Config{DB: cfg.DB, Hasher: hasher, TokenTTL: cfg.TokenTTL, SessionTTL: cfg.SessionTTL,
		Limits: cfg.Logins, Now: cfg.Now})
	s.Recharges = recharges.NewService(recharges.Config{DB: cfg.DB, Partners: s.Partners, Keys: cfg.Keys, Now: cfg.Now})
	s.Accessories = accessories.NewService(accessories.Config{DB: cfg.DB, Partners: s.Partners, Now: cfg.Now})
	s.Inventory = inventory.NewService(inventory.Config{DB: cfg.DB, Partners: s.Partners, Recharges: s.Recharges, Accessories: s.Accessories,
		Now: cfg.Now})
	s.Distribution = distribution.NewService(distribution.Config{DB: cfg.DB, Partners: s.Partners, Inventory: s.Inventory,
		Recharges: s.Recharges, Accessories: s.Accessories, Limits: cfg.Lookups, Policy: cfg.Policy, Channels: cfg.Channels, Now: cfg.Now})
	return s, nil
}
