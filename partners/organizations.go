package partners

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/journal"
	"github.com/tremplin/tremplin/internal/paging"
)

// NewOrganization is the input of CreateOrganization.
type NewOrganization struct {
	Kind     Kind    `json:"kind"`
	Name     string  `json:"name"`
	Timezone *string `json:"timezone"`
	Address  *string `json:"address"`
	// SIREN is a donor's (nine digits), for its tax receipts.
	SIREN *string `json:"siren"`
}

// CreateOrganization adds a partner (admins only).
func (s *Service) CreateOrganization(ctx context.Context, c Caller, in NewOrganization) (Organization, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return Organization{}, err
	}
	v := &apperr.ValidationError{}
	if !in.Kind.Valid() {
		v.Field("kind", "must be one of warehouse, space, prescriber, donor, operator")
	}
	checkName(v, "name", in.Name)
	tz := DefaultTimezone
	if in.Timezone != nil {
		tz = *in.Timezone
		if !validTimezone(tz) {
			v.Field("timezone", "%q is not an IANA time zone such as Europe/Paris or Indian/Reunion", tz)
		}
	}
	addr := ""
	if in.Address != nil {
		addr = strings.TrimSpace(*in.Address)
		if len([]rune(addr)) > maxAddressLen {
			v.Field("address", "must be at most %d characters", maxAddressLen)
		}
	}
	siren := checkSIREN(v, in.Kind, in.SIREN)
	if err := v.Err(); err != nil {
		return Organization{}, err
	}
	now := s.now()
	o := Organization{Kind: in.Kind, Name: strings.TrimSpace(in.Name), Timezone: tz, Address: addr, SIREN: siren, Active: true,
		CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&o).Error; err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		if o.Kind == KindSpace {
			// Its sales journal's head, so that its first sale costs what
			// the others do.
			if err := journal.Open(tx, o.ID); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, "organization.create", "organization", o.ID,
			map[string]any{"kind": o.Kind, "name": o.Name})
	})
	return o, err
}

// OrganizationFilter narrows ListOrganizations.
type OrganizationFilter struct {
	Kind Kind
}

// ActiveStaff counts each organisation's active users (admins only).
func (s *Service) ActiveStaff(ctx context.Context, c Caller) (map[int64]int, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return nil, err
	}
	var rows []struct {
		OrganizationID int64
		N              int
	}
	if err := s.db.WithContext(ctx).Model(&User{}).Select("organization_id, COUNT(*) AS n").
		Where("active = ? AND organization_id IS NOT NULL", true).Group("organization_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count active staff: %w", err)
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.OrganizationID] = r.N
	}
	return out, nil
}

// ListOrganizations lists the organisations the caller may see.
func (s *Service) ListOrganizations(ctx context.Context, c Caller, f OrganizationFilter, p paging.Page) (paging.List[Organization], error) {
	if f.Kind != "" && !f.Kind.Valid() {
		return paging.List[Organization]{}, apperr.Invalid("kind", "must be one of warehouse, space, prescriber, donor, operator")
	}
	q := s.db.WithContext(ctx).Scopes(organizationScope(c)).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	var out []Organization
	if err := q.Find(&out).Error; err != nil {
		return paging.List[Organization]{}, fmt.Errorf("list organizations: %w", err)
	}
	return paging.New(out, p, func(o Organization) int64 { return o.ID }), nil
}

// GetOrganization returns one organisation the caller may see; others are not found.
func (s *Service) GetOrganization(ctx context.Context, c Caller, id int64) (Organization, error) {
	var o Organization
	err := s.db.WithContext(ctx).Scopes(organizationScope(c)).Where("id = ?", id).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return o, fmt.Errorf("organization %d: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("get organization %d: %w", id, err)
	}
	return o, nil
}

// Site returns the organisation id when it is a warehouse or a space: the
// check other domains make before putting stock somewhere.
func (s *Service) Site(ctx context.Context, id int64) (Organization, error) {
	var o Organization
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !o.Kind.IsSite()) {
		return o, fmt.Errorf("site %d: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("get site %d: %w", id, err)
	}
	return o, nil
}

// OrganizationOfKind loads an organisation named in an input (a donor, an
// operator...) and checks its kind, recording a field error in v rather than
// failing; the zero Organization comes back then.
func (s *Service) OrganizationOfKind(ctx context.Context, v *apperr.ValidationError, field string, id int64, kind Kind) (Organization, error) {
	if id == 0 {
		v.Field(field, "is required")
		return Organization{}, nil
	}
	o, err := s.GetOrganization(ctx, Caller{Role: RoleAdmin}, id)
	if err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			v.Field(field, "no organisation has id %d", id)
			return Organization{}, nil
		}
		return o, err
	}
	if o.Kind != kind {
		v.Field(field, "%q is a %s, not a %s", o.Name, o.Kind, kind)
		return Organization{}, nil
	}
	return o, nil
}

// SiteIn loads a warehouse or space through db, which may be a transaction:
// code inside a transaction must not take a second connection from the pool
// (on SQLite, the pool's other connections may all be waiting for this
// transaction's write lock).
func SiteIn(db *gorm.DB, id int64) (Organization, error) {
	var o Organization
	err := db.Where("id = ? AND kind IN ?", id, []Kind{KindWarehouse, KindSpace}).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return o, fmt.Errorf("site %d: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("site %d: %w", id, err)
	}
	return o, nil
}

// OrganizationPatch is the input of UpdateOrganization; absent fields stay.
type OrganizationPatch struct {
	Kind     *Kind   `json:"kind"`
	Name     *string `json:"name"`
	Timezone *string `json:"timezone"`
	Address  *string `json:"address"`
	SIREN    *string `json:"siren"`
	Active   *bool   `json:"active"`
}

// UpdateOrganization changes an organisation (admins only). The kind is fixed
// at creation: users' roles depend on it.
func (s *Service) UpdateOrganization(ctx context.Context, c Caller, id int64, in OrganizationPatch) (Organization, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return Organization{}, err
	}
	var o Organization
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&o).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("organization %d: %w", id, apperr.ErrNotFound)
			}
			return fmt.Errorf("get organization %d: %w", id, err)
		}
		v := &apperr.ValidationError{}
		changes := map[string]any{}
		if in.Kind != nil && *in.Kind != o.Kind {
			v.Field("kind", "cannot be changed once the organisation exists (its users' roles depend on it)")
		}
		if in.Name != nil {
			checkName(v, "name", *in.Name)
			changes["name"] = strings.TrimSpace(*in.Name)
		}
		if in.Timezone != nil {
			if !validTimezone(*in.Timezone) {
				v.Field("timezone", "%q is not an IANA time zone such as Europe/Paris or Indian/Reunion", *in.Timezone)
			}
			changes["timezone"] = *in.Timezone
		}
		if in.Address != nil {
			a := strings.TrimSpace(*in.Address)
			if len([]rune(a)) > maxAddressLen {
				v.Field("address", "must be at most %d characters", maxAddressLen)
			}
			changes["address"] = a
		}
		if in.Active != nil {
			changes["active"] = *in.Active
		}
		if in.SIREN != nil {
			changes["siren"] = checkSIREN(v, o.Kind, in.SIREN)
		}
		if err := v.Err(); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		changes["updated_at"] = s.now()
		if err := tx.Model(&Organization{}).Where("id = ?", id).Updates(changes).Error; err != nil {
			return fmt.Errorf("update organization %d: %w", id, err)
		}
		if err := tx.Where("id = ?", id).Take(&o).Error; err != nil {
			return fmt.Errorf("reload organization %d: %w", id, err)
		}
		delete(changes, "updated_at")
		return audit.Record(ctx, tx, "organization.update", "organization", id, changes)
	})
	return o, err
}

// checkSIREN reads a donor's SIREN: nine digits, spaces allowed; "" clears
// it. Only donors have one here (their tax receipts print it).
func checkSIREN(v *apperr.ValidationError, k Kind, in *string) *string {
	if in == nil {
		return nil
	}
	s := NormalizeSIREN(*in)
	switch {
	case s == "":
		return nil
	case k != KindDonor:
		v.Field("siren", "only a donor's SIREN is kept (for its tax receipts)")
	case !ValidSIREN(s):
		v.Field("siren", "must be nine digits (the company's SIREN)")
	}
	return &s
}
