package partners

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/pdfdraw"
)

// NewUser is the input of CreateUser.
type NewUser struct {
	Email          string `json:"email"`
	Name           string `json:"name"`
	Password       string `json:"password"`
	Role           Role   `json:"role"`
	OrganizationID *int64 `json:"organization_id"`
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkEmail(v *apperr.ValidationError, email string) {
	if email == "" {
		v.Field("email", "is required")
		return
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > maxEmailLen || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		v.Field("email", "%q is not an email address such as prenom.nom@example.org", email)
	}
}

// CreateUser adds a user (admins only). The role must fit the organisation's
// kind: warehouse staff at a warehouse, space staff at a space, prescribers at
// a prescriber organisation, admins at none.
func (s *Service) CreateUser(ctx context.Context, c Caller, in NewUser) (User, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return User{}, err
	}
	return s.createUser(ctx, in)
}

func (s *Service) createUser(ctx context.Context, in NewUser) (User, error) {
	in.Email = normalizeEmail(in.Email)
	v := &apperr.ValidationError{}
	checkEmail(v, in.Email)
	checkName(v, "name", in.Name)
	checkPassword(v, "password", in.Password, in.Email, in.Name)
	wantKind, known := roleKind[in.Role]
	if !known && in.Role != RoleAdmin {
		v.Field("role", "must be one of admin, warehouse, space, prescriber")
	}
	var user User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		switch {
		case in.Role == RoleAdmin && in.OrganizationID != nil:
			// Say which role fits the organisation chosen: following the
			// bare « leave it out » made a network admin of a space's staff.
			var o Organization
			if err := tx.Where("id = ?", *in.OrganizationID).Take(&o).Error; err == nil {
				if fit, ok := RoleOf(o.Kind); ok {
					v.Field("organization_id", "%s's people are %s: choose that role, or no organisation for a network admin", o.Name, fit)
					break
				}
			}
			v.Field("organization_id", "an admin belongs to the whole network, not to an organisation: leave it out")
		case known && in.OrganizationID == nil:
			v.Field("organization_id", "is required for role %s (an organisation of kind %s)", in.Role, wantKind)
		case known:
			var o Organization
			err := tx.Where("id = ?", *in.OrganizationID).Take(&o).Error
			switch {
			case errors.Is(err, gorm.ErrRecordNotFound):
				v.Field("organization_id", "no organisation has id %d", *in.OrganizationID)
			case err != nil:
				return fmt.Errorf("get organization %d: %w", *in.OrganizationID, err)
			case o.Kind != wantKind:
				v.Field("role", "role %s needs an organisation of kind %s, and %q is a %s", in.Role, wantKind, o.Name, o.Kind)
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		hash, err := s.hasher.Hash(ctx, in.Password)
		if err != nil {
			return err
		}
		now := s.now()
		user = User{Email: in.Email, Name: strings.TrimSpace(in.Name), PasswordHash: hash, Role: in.Role,
			OrganizationID: in.OrganizationID, Active: true, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&user).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Conflict("duplicate-email", "a user with email %s already exists", in.Email)
			}
			return fmt.Errorf("create user: %w", err)
		}
		return audit.Record(ctx, tx, "user.create", "user", user.ID,
			map[string]any{"email": user.Email, "role": user.Role, "organization_id": user.OrganizationID})
	})
	return user, err
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	OrganizationID int64
	Role           Role
}

// ListUsers lists users: admins see everyone, others their own organisation.
func (s *Service) ListUsers(ctx context.Context, c Caller, f UserFilter, p paging.Page) (paging.List[User], error) {
	if _, known := roleKind[f.Role]; f.Role != "" && f.Role != RoleAdmin && !known {
		return paging.List[User]{}, apperr.Invalid("role", "must be one of admin, warehouse, space, prescriber")
	}
	q := s.db.WithContext(ctx).Scopes(OwnedBy(c, "organization_id")).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if f.OrganizationID != 0 {
		q = q.Where("organization_id = ?", f.OrganizationID)
	}
	if f.Role != "" {
		q = q.Where("role = ?", f.Role)
	}
	var out []User
	if err := q.Find(&out).Error; err != nil {
		return paging.List[User]{}, fmt.Errorf("list users: %w", err)
	}
	return paging.New(out, p, func(u User) int64 { return u.ID }), nil
}

// GetUser returns a user the caller may see.
func (s *Service) GetUser(ctx context.Context, c Caller, id int64) (User, error) {
	var u User
	err := s.db.WithContext(ctx).Scopes(OwnedBy(c, "organization_id")).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, fmt.Errorf("user %d: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

// UserPatch is the input of UpdateUser; absent fields stay.
type UserPatch struct {
	Name            *string `json:"name"`
	Active          *bool   `json:"active"`
	Password        *string `json:"password"`
	CurrentPassword *string `json:"current_password"`
}

// UpdateUser changes a user. Admins may rename, deactivate, reactivate and
// reset the password of anyone; a user may change their own name, and their
// own password by giving the current one. Deactivating revokes every token
// and session of that user at once.
func (s *Service) UpdateUser(ctx context.Context, c Caller, id int64, in UserPatch) (User, error) {
	self := c.UserID == id
	if !c.IsAdmin() && !self {
		if _, err := s.GetUser(ctx, c, id); err != nil {
			return User{}, err
		}
		return User{}, fmt.Errorf("only an admin may change another user: %w", apperr.ErrForbidden)
	}
	if !c.IsAdmin() && in.Active != nil {
		return User{}, fmt.Errorf("only an admin may activate or deactivate a user: %w", apperr.ErrForbidden)
	}
	// The current password asked before a change is a password guess: it
	// is counted before it is checked, against its own limit, so that five
	// wrong ones stop the changes for the window but not the person's logins.
	// Hashes are made before the transaction, which must not hold the
	// database's writer while argon2 runs.
	askCurrent := !c.IsAdmin() && in.Password != nil
	var attempt int64
	currentOK, wrongCurrent := false, false
	var newHash string
	if in.Password != nil {
		ticket, err := s.hasher.Admit()
		if err != nil {
			return User{}, err
		}
		defer ticket.Done()
		if askCurrent && in.CurrentPassword != nil {
			email := normalizeEmail(c.Email)
			if attempt, err = s.reserveAttempt(ctx, email, audit.ActorFrom(ctx).IP, viaCurrentPassword); err != nil {
				return User{}, err
			}
			var stored User
			if err := s.db.WithContext(ctx).Select("password_hash").Where("id = ?", id).Take(&stored).Error; err != nil {
				return User{}, database.NotFound(err, "user %d", id)
			}
			if currentOK, err = ticket.Verify(ctx, *in.CurrentPassword, stored.PasswordHash); err != nil {
				return User{}, err
			}
			wrongCurrent = !currentOK
		}
		pv := &apperr.ValidationError{}
		checkPassword(pv, "password", *in.Password, "", "")
		if pv.Err() == nil && (!askCurrent || currentOK) {
			if newHash, err = ticket.Hash(ctx, *in.Password); err != nil {
				return User{}, err
			}
		}
		ticket.Done()
	}
	var u User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("user %d: %w", id, apperr.ErrNotFound)
			}
			return fmt.Errorf("get user %d: %w", id, err)
		}
		v := &apperr.ValidationError{}
		changes := map[string]any{}
		logged := map[string]any{}
		if in.Name != nil {
			checkName(v, "name", *in.Name)
			changes["name"] = strings.TrimSpace(*in.Name)
			logged["name"] = changes["name"]
		}
		if in.Password != nil {
			name := u.Name
			if in.Name != nil {
				name = *in.Name
			}
			checkPassword(v, "password", *in.Password, u.Email, name)
			if askCurrent && !currentOK {
				v.Field("current_password", "is required and must be your current password")
			}
			logged["password"] = "changed"
		}
		if err := v.Err(); err != nil {
			return err
		}
		if in.Password != nil {
			changes["password_hash"] = newHash
		}
		if in.Active != nil && *in.Active != u.Active {
			if !*in.Active {
				if self {
					return apperr.Conflict("self-deactivation", "you cannot deactivate your own account")
				}
				if u.Role == RoleAdmin {
					var admins int64
					if err := tx.Model(&User{}).Where("role = ? AND active = ?", RoleAdmin, true).Count(&admins).Error; err != nil {
						return fmt.Errorf("count admins: %w", err)
					}
					if admins <= 1 {
						return apperr.Conflict("last-admin", "%s is the last active admin", u.Email)
					}
				}
			}
			changes["active"] = *in.Active
			logged["active"] = *in.Active
		}
		if len(changes) == 0 {
			return nil
		}
		changes["updated_at"] = s.now()
		if err := tx.Model(&User{}).Where("id = ?", id).Updates(changes).Error; err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		// A deactivated account or a changed password ends every open session.
		if (in.Active != nil && !*in.Active) || in.Password != nil {
			q := tx.Model(&authToken{}).Where("user_id = ? AND revoked_at IS NULL", id)
			if in.Password != nil && self && in.Active == nil {
				q = q.Where("id <> ?", c.TokenID) // keep the session that made the change
			}
			if err := q.Update("revoked_at", s.now()).Error; err != nil {
				return fmt.Errorf("revoke tokens of user %d: %w", id, err)
			}
		}
		if err := tx.Where("id = ?", id).Take(&u).Error; err != nil {
			return fmt.Errorf("reload user %d: %w", id, err)
		}
		return audit.Record(ctx, tx, "user.update", "user", id, logged)
	})
	switch {
	case wrongCurrent:
		if serr := s.settleAttempt(ctx, s.db.DB, attempt, false); serr != nil {
			return User{}, serr
		}
		if ferr := s.loginFailed(ctx, normalizeEmail(c.Email), id, viaCurrentPassword); ferr != nil {
			return User{}, ferr
		}
	case currentOK:
		// The right password, whatever else the change met: a success.
		if serr := s.settleAttempt(ctx, s.db.DB, attempt, true); serr != nil {
			return User{}, serr
		}
	}
	return u, err
}

// SetLanguage records the language of a person's pages ("" follows the
// browser).
func (s *Service) SetLanguage(ctx context.Context, c Caller, lang string) error {
	if _, ok := i18n.Parse(lang); !ok && lang != "" {
		return apperr.Invalid("language", "must be fr or en")
	}
	if err := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", c.UserID).Update("language", lang).Error; err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// SetReceiptFormat records what a space's receipt printer takes: "80mm" or
// "a4". Its staff and the admins choose it.
func (s *Service) SetReceiptFormat(ctx context.Context, c Caller, siteID int64, format string) error {
	if err := c.Require(RoleAdmin, RoleSpace); err != nil {
		return err
	}
	if err := c.CheckSite(siteID); err != nil {
		return err
	}
	if format != "80mm" && format != "a4" {
		return apperr.Invalid("receipt_format", "must be 80mm or a4")
	}
	res := s.db.WithContext(ctx).Model(&Organization{}).Where("id = ? AND kind = ?", siteID, KindSpace).Update("receipt_format", format)
	if res.Error != nil {
		return fmt.Errorf("receipt format of site %d: %w", siteID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("space %d: %w", siteID, apperr.ErrNotFound)
	}
	return audit.Record(ctx, s.db.WithContext(ctx), "organization.receipt_format", "organization", siteID, map[string]any{"format": format})
}

// SetLabelLayout records the label stock a site prints on by default ("" for
// Tremplin's default). Its staff and the admins choose it.
func (s *Service) SetLabelLayout(ctx context.Context, c Caller, siteID int64, layout string) error {
	if err := c.Require(RoleAdmin, RoleWarehouse, RoleSpace); err != nil {
		return err
	}
	if err := c.CheckSite(siteID); err != nil {
		return err
	}
	if layout != "" {
		if _, err := pdfdraw.LayoutByName(layout); err != nil {
			return err
		}
	}
	res := s.db.WithContext(ctx).Model(&Organization{}).Where("id = ? AND kind IN ?", siteID, []Kind{KindWarehouse, KindSpace}).Update("label_layout", layout)
	if res.Error != nil {
		return fmt.Errorf("label layout of site %d: %w", siteID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
	}
	return audit.Record(ctx, s.db.WithContext(ctx), "organization.label_layout", "organization", siteID, map[string]any{"layout": layout})
}

// ResetPassword gives a user a new generated password (admins only), to be
// shown once; every session of that user ends.
func (s *Service) ResetPassword(ctx context.Context, c Caller, id int64) (User, string, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return User{}, "", err
	}
	pw, err := GeneratePassword(oneTimeLen)
	if err != nil {
		return User{}, "", err
	}
	u, err := s.UpdateUser(ctx, c, id, UserPatch{Password: &pw})
	return u, pw, err
}

// oneTimeLen is the length of a generated password: 14 symbols of 55, about
// 81 bits.
const oneTimeLen = 14

// CreateUserWithPassword adds a user with a generated password (admins
// only), returned to be shown once: the admin never makes one up.
func (s *Service) CreateUserWithPassword(ctx context.Context, c Caller, in NewUser) (User, string, error) {
	pw, err := GeneratePassword(oneTimeLen)
	if err != nil {
		return User{}, "", err
	}
	in.Password = pw
	u, err := s.CreateUser(ctx, c, in)
	return u, pw, err
}

// LogoutEverywhere ends every session and API token of the caller, this
// one included.
func (s *Service) LogoutEverywhere(ctx context.Context, c Caller) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&authToken{}).Where("user_id = ? AND revoked_at IS NULL", c.UserID).Update("revoked_at", s.now())
		if res.Error != nil {
			return fmt.Errorf("revoke tokens of user %d: %w", c.UserID, res.Error)
		}
		return audit.Record(ctx, tx, "auth.logout_everywhere", "user", c.UserID, map[string]any{"sessions": res.RowsAffected})
	})
}
