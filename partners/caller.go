package partners

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Caller is the authenticated user of a request, with what scoping needs.
type Caller struct {
	UserID           int64
	Email            string
	Name             string
	Role             Role
	OrganizationID   int64 // 0 for admins
	OrganizationKind Kind  // "" for admins
	Timezone         string
	TokenID          int64
	// OrganizationName and Language are for the web UI's top bar and
	// catalogue.
	OrganizationName string
	Language         string
}

// CheckSite returns ErrNotFound when a site is not the caller's (admins may
// act anywhere): another site's records are not found, never forbidden.
func (c Caller) CheckSite(siteID int64) error {
	if c.IsAdmin() {
		return nil
	}
	if own, ok := c.SiteID(); ok && own == siteID {
		return nil
	}
	return fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
}

// UserRef is the caller's user id for a nullable column (nil for the system).
func (c Caller) UserRef() *int64 {
	if c.UserID == 0 {
		return nil
	}
	id := c.UserID
	return &id
}

// IsAdmin tells whether the caller administers the whole network.
func (c Caller) IsAdmin() bool { return c.Role == RoleAdmin }

// SiteID is the caller's site when they work at a warehouse or a space.
func (c Caller) SiteID() (int64, bool) {
	if c.OrganizationKind.IsSite() {
		return c.OrganizationID, true
	}
	return 0, false
}

// Is tells whether the caller has one of the roles.
func (c Caller) Is(roles ...Role) bool { return slices.Contains(roles, c.Role) }

// Require returns ErrForbidden unless the caller has one of the roles.
func (c Caller) Require(roles ...Role) error {
	if c.Is(roles...) {
		return nil
	}
	return fmt.Errorf("role %s may not do this: %w", c.Role, apperr.ErrForbidden)
}

// WithCaller returns a context carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of an authenticated request.
func CallerFrom(ctx context.Context) (Caller, error) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok {
		return c, fmt.Errorf("no caller in context: %w", apperr.ErrUnauthenticated)
	}
	return c, nil
}

type callerKey struct{}

// OwnedBy scopes a query on a table with an organisation column to the
// caller's organisation; admins see every row. A record outside the scope is
// then simply not found, which the API answers with 404, never 403.
func OwnedBy(c Caller, column string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if c.IsAdmin() {
			return db
		}
		return db.Where(column+" = ?", c.OrganizationID)
	}
}

// AtOwnSite scopes a query on a table with a site column to the caller's site:
// admins see every site, staff their own, other roles nothing.
func AtOwnSite(c Caller, column string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if c.IsAdmin() {
			return db
		}
		if site, ok := c.SiteID(); ok {
			return db.Where(column+" = ?", site)
		}
		return db.Where("1 = 0")
	}
}

// visibleKinds are the kinds of other organisations a role may look up: the
// sites a warehouse ships to and receives from, the donors and operators it
// records; the sites a space trades with; the spaces a prescriber sends people
// to. Other prescribers stay private to the admins.
var visibleKinds = map[Role][]Kind{
	RoleWarehouse:  {KindWarehouse, KindSpace, KindDonor, KindOperator},
	RoleSpace:      {KindWarehouse, KindSpace},
	RolePrescriber: {KindSpace},
}

// organizationScope limits the organisations query to what the caller may see.
func organizationScope(c Caller) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if c.IsAdmin() {
			return db
		}
		return db.Where("organizations.id = ? OR organizations.kind IN ?", c.OrganizationID, visibleKinds[c.Role])
	}
}
