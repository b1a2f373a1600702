package distribution

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// LookupLimits bound failed voucher lookups per user: past Max failures (a
// mistyped or unknown code) within Window, lookups answer 429. Failures are
// counted from the audit log, so the limit holds across processes.
type LookupLimits struct {
	Window time.Duration
	Max    int
}

// Service is the distribution domain.
type Service struct {
	db        *database.DB
	partners  *partners.Service
	inventory *inventory.Service
	recharges *recharges.Service
	acc       *accessories.Service
	limits    LookupLimits
	policy    Policy
	channels  []string
	now       func() time.Time
}

// Policy is the network's rules for sales.
type Policy struct {
	// DevicesPerYear is how many devices one person may buy over 12 months,
	// across all their vouchers (0: no limit).
	DevicesPerYear int
	// WarrantyMonths is how long a sold device may be brought back.
	WarrantyMonths int
}

// Config is what NewService needs.
type Config struct {
	DB       *database.DB
	Partners *partners.Service
	Limits   LookupLimits
	// Inventory sells devices, and Recharges cards, inside sales.
	Inventory *inventory.Service
	Recharges *recharges.Service
	// Accessories sells accessories by quantity (nil: a sale has none).
	Accessories *accessories.Service
	Policy      Policy
	// Channels are the ways to reach a person this server has settings
	// for (notify.SMS, notify.Email); none: "notify" is refused.
	Channels []string
	Now      func() time.Time // nil means database.Now
}

// NewService builds the distribution service.
func NewService(c Config) *Service {
	now := c.Now
	if now == nil {
		now = database.Now
	}
	if c.Limits.Max == 0 {
		c.Limits = LookupLimits{Window: 15 * time.Minute, Max: 20}
	}
	if c.Policy.WarrantyMonths == 0 {
		c.Policy.WarrantyMonths = 6
	}
	return &Service{db: c.DB, partners: c.Partners, inventory: c.Inventory, recharges: c.Recharges, acc: c.Accessories, limits: c.Limits, policy: c.Policy, channels: c.Channels, now: now}
}

// Now is the service's clock (the pages' "today" agrees with the sales').
func (s *Service) Now() time.Time { return s.now() }

// CanNotify says whether this server can message people (SMS or email
// set up).
func (s *Service) CanNotify() bool { return len(s.channels) > 0 }

// inTx runs fn in one transaction.
func (s *Service) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.InTx(ctx, fn)
}

// notFound: see database.NotFound.
var notFound = database.NotFound

// ownOrganization scopes beneficiaries and vouchers to the caller's
// organisation: another organisation's are simply not found.
func ownOrganization(c partners.Caller) func(*gorm.DB) *gorm.DB {
	return partners.OwnedBy(c, "organization_id")
}

// Who may do what: the services check these lists, and the pages offer
// only what they allow.
var (
	// PrescriberRoles see and manage vouchers (admins all, prescribers their
	// organisation's).
	PrescriberRoles = []partners.Role{partners.RoleAdmin, partners.RolePrescriber}
	// IssuerRoles record a person and issue a voucher in one form: the
	// person belongs to the issuer's organisation, which admins have not.
	IssuerRoles = []partners.Role{partners.RolePrescriber}
	// LookupRoles check a voucher by its code.
	LookupRoles = []partners.Role{partners.RoleAdmin, partners.RoleSpace, partners.RolePrescriber}
)

func isRecordNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
