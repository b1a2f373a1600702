package partners

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
)

// passwordAlphabet has no look-alikes (0/O, 1/l/I), so a printed password can
// be typed from a screen without doubt.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of n characters.
func GeneratePassword(n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range out {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		out[i] = passwordAlphabet[k.Int64()]
	}
	return string(out), nil
}

// EnsureFirstAdmin creates an admin with a generated password when the
// database has no user at all. It returns the password, to be shown once, and
// "" when users already exist. Processes starting together create one admin:
// the loser of the race hits the unique email and finds the winner's.
func (s *Service) EnsureFirstAdmin(ctx context.Context, email string) (string, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	pw, err := GeneratePassword(16)
	if err != nil {
		return "", err
	}
	_, err = s.createUser(ctx, NewUser{Email: email, Name: "Administrateur", Password: pw, Role: RoleAdmin})
	if errors.Is(err, apperr.ErrConflict) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("create first admin: %w", err)
	}
	return pw, nil
}

// CreateAdmin adds an admin from the command line.
func (s *Service) CreateAdmin(ctx context.Context, email, password, name string) (User, error) {
	if name == "" {
		name = "Administrateur"
	}
	return s.createUser(ctx, NewUser{Email: email, Name: name, Password: password, Role: RoleAdmin})
}

// SetPassword gives the user with that email a new password, from the
// command line (for the admin who lost the printed one): every session of
// theirs ends, and the change is audited. An empty password means a new one
// is generated and returned, to be shown once.
func (s *Service) SetPassword(ctx context.Context, email, password string) (User, string, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", normalizeEmail(email)).Take(&u).Error; err != nil {
		return u, "", NotFoundUser(err, email)
	}
	if password == "" {
		pw, err := GeneratePassword(16)
		if err != nil {
			return u, "", err
		}
		password = pw
	}
	u, err := s.UpdateUser(ctx, Caller{Role: RoleAdmin}, u.ID, UserPatch{Password: &password})
	return u, password, err
}

// NotFoundUser says no account has that email (or the lookup failed).
func NotFoundUser(err error, email string) error {
	return database.NotFound(err, "no account with email %s", email)
}

// ErrNotEmpty is returned by SeedDemo on a database that already holds data.
var ErrNotEmpty = errors.New("the database is not empty")

// DemoAccount is one login created by SeedDemo.
type DemoAccount struct {
	ID           int64
	Email        string
	Password     string
	Role         Role
	Organization string
}

// Caller returns the demo account of a role at an organisation key, as a
// caller, for the other domains' demo data.
func (n DemoNetwork) Caller(role Role, orgKey string) Caller {
	o := n.Organizations[orgKey]
	for _, a := range n.Accounts {
		if a.Role == role && (role == RoleAdmin || a.Organization == o.Name) {
			return Caller{UserID: a.ID, Email: a.Email, Role: role, OrganizationID: o.ID, OrganizationKind: o.Kind, Timezone: o.Timezone}
		}
	}
	return Caller{Role: role, OrganizationID: o.ID, OrganizationKind: o.Kind, Timezone: o.Timezone}
}

// DemoNetwork is what SeedDemo created, for the other domains' demo data.
type DemoNetwork struct {
	Accounts      []DemoAccount
	Organizations map[string]Organization // by short key: warehouse, paris, reunion, ccas, mission, donor, operator
}

// SeedDemo fills an empty database with a small realistic network: a
// warehouse, two spaces (one in La Réunion), two prescriber organisations, a
// donor, an operator and one user per role, with generated passwords.
func (s *Service) SeedDemo(ctx context.Context) (DemoNetwork, error) {
	var orgs, users int64
	if err := s.db.WithContext(ctx).Model(&Organization{}).Count(&orgs).Error; err != nil {
		return DemoNetwork{}, fmt.Errorf("count organizations: %w", err)
	}
	if err := s.db.WithContext(ctx).Model(&User{}).Count(&users).Error; err != nil {
		return DemoNetwork{}, fmt.Errorf("count users: %w", err)
	}
	if orgs > 0 || users > 0 {
		return DemoNetwork{}, fmt.Errorf("%w (%d organisations, %d users): --demo only fills an empty database", ErrNotEmpty, orgs, users)
	}
	orgSpecs := []struct {
		key string
		o   Organization
	}{
		{"warehouse", Organization{Kind: KindWarehouse, Name: "Entrepôt solidaire de Montreuil", Timezone: "Europe/Paris", Address: "12 rue de la Réparation, 93100 Montreuil"}},
		{"paris", Organization{Kind: KindSpace, Name: "Espace numérique Belleville", Timezone: "Europe/Paris", Address: "48 rue de Belleville, 75020 Paris"}},
		{"reunion", Organization{Kind: KindSpace, Name: "Espace numérique du Port", Timezone: "Indian/Reunion", Address: "3 rue Léon de Lépervanche, 97420 Le Port"}},
		{"ccas", Organization{Kind: KindPrescriber, Name: "CCAS de Montreuil", Timezone: "Europe/Paris", Address: "1 place Jean-Jaurès, 93100 Montreuil"}},
		{"mission", Organization{Kind: KindPrescriber, Name: "Mission locale Nord Réunion", Timezone: "Indian/Reunion", Address: "20 rue de Paris, 97400 Saint-Denis"}},
		{"donor", Organization{Kind: KindDonor, Name: "Assurances Mutuelles d'Île-de-France", Timezone: "Europe/Paris"}},
		{"operator", Organization{Kind: KindOperator, Name: "Opérateur Mobile Solidaire", Timezone: "Europe/Paris"}},
	}
	userSpecs := []struct {
		org   string
		email string
		name  string
		role  Role
	}{
		{"", "admin@demo.tremplin.local", "Awa Diallo", RoleAdmin},
		{"warehouse", "entrepot@demo.tremplin.local", "Karim Benali", RoleWarehouse},
		{"paris", "belleville@demo.tremplin.local", "Chloé Martin", RoleSpace},
		{"reunion", "leport@demo.tremplin.local", "Jean-Marc Payet", RoleSpace},
		{"ccas", "ccas@demo.tremplin.local", "Sophie Lefèvre", RolePrescriber},
		{"mission", "mission@demo.tremplin.local", "Nadia Hoarau", RolePrescriber},
	}
	net := DemoNetwork{Organizations: map[string]Organization{}}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		for _, spec := range orgSpecs {
			o := spec.o
			o.Active, o.CreatedAt, o.UpdatedAt = true, now, now
			if err := tx.Create(&o).Error; err != nil {
				return fmt.Errorf("demo organization %s: %w", o.Name, err)
			}
			net.Organizations[spec.key] = o
		}
		for _, spec := range userSpecs {
			pw, err := GeneratePassword(14)
			if err != nil {
				return err
			}
			hash, err := s.hasher.Hash(ctx, pw)
			if err != nil {
				return err
			}
			u := User{Email: spec.email, Name: spec.name, PasswordHash: hash, Role: spec.role, Active: true, CreatedAt: now, UpdatedAt: now}
			orgName := "réseau"
			if spec.org != "" {
				o := net.Organizations[spec.org]
				u.OrganizationID = &o.ID
				orgName = o.Name
			}
			if err := tx.Create(&u).Error; err != nil {
				if database.IsUniqueViolation(err) {
					return fmt.Errorf("%w: %s already exists", ErrNotEmpty, spec.email)
				}
				return fmt.Errorf("demo user %s: %w", spec.email, err)
			}
			net.Accounts = append(net.Accounts, DemoAccount{ID: u.ID, Email: spec.email, Password: pw, Role: spec.role, Organization: orgName})
		}
		return nil
	})
	if err != nil {
		return DemoNetwork{}, err
	}
	return net, nil
}
