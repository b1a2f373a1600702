// Package recharges is the prepaid phone and internet recharges the network
// sells: the operators' products and their prices, PIN batches imported from
// operator files (all or nothing, PINs sealed with AES-256-GCM), the stock of
// cards at each site (one row per card), their allocation to sales
// first-expiring, transfers of cards between sites, expiry, key rotation and
// the operator's billing report. It sits on partners; inventory (transfers)
// and distribution (sales) call it inside their own transactions.
package recharges

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/partners"
)

// Service is the recharges domain: its store and rules.
type Service struct {
	db       *database.DB
	partners *partners.Service
	keys     *secrets.Keyring
	now      func() time.Time
	// stagers bounds the SQLite imports staging at once: each holds one of
	// the pool's few connections for as long as its file takes to arrive.
	stagers chan struct{}
}

// sqliteStagers is how many SQLite imports stage at once (of the pool's 8
// connections); the others wait their turn.
const sqliteStagers = 2

// Config is what NewService needs.
type Config struct {
	DB       *database.DB
	Partners *partners.Service
	// Keys seal and open PINs; nil refuses imports and sales of PINs.
	Keys *secrets.Keyring
	Now  func() time.Time // nil means database.Now
}

// NewService builds the recharges service.
func NewService(c Config) *Service {
	now := c.Now
	if now == nil {
		now = database.Now
	}
	return &Service{db: c.DB, partners: c.Partners, keys: c.Keys, now: now, stagers: make(chan struct{}, sqliteStagers)}
}

// Roles that handle recharge stock.
var (
	WarehouseRoles = []partners.Role{partners.RoleAdmin, partners.RoleWarehouse}
	staffRoles     = []partners.Role{partners.RoleAdmin, partners.RoleWarehouse, partners.RoleSpace}
)

// notFound: see database.NotFound.
var notFound = database.NotFound

// inTx runs fn in one transaction.
func (s *Service) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.InTx(ctx, fn)
}
