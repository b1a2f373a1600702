// Package partners holds the organisations of the network (sites, prescribers,
// donors, operators), their users and roles, sessions and API tokens, and the
// auth middleware and scoping rules every other domain relies on.
package partners

import (
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve on machines without a zoneinfo database
	"unicode/utf8"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/internal/zone"
)

// Kind is the kind of an organisation.
type Kind string

const (
	KindWarehouse  Kind = "warehouse"
	KindSpace      Kind = "space"
	KindPrescriber Kind = "prescriber"
	KindDonor      Kind = "donor"
	KindOperator   Kind = "operator"
)

// Kinds lists every organisation kind.
var Kinds = []Kind{KindWarehouse, KindSpace, KindPrescriber, KindDonor, KindOperator}

// Key names the kind in the pages' catalogue ("kind.space").
func (k Kind) Key() string { return "kind." + string(k) }

// IsSite tells whether stock can live at an organisation of this kind.
func (k Kind) IsSite() bool { return k == KindWarehouse || k == KindSpace }

// Valid tells a kind the network knows.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Role is what a user may do.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleWarehouse  Role = "warehouse"
	RoleSpace      Role = "space"
	RolePrescriber Role = "prescriber"
)

// Key names the role in the pages' catalogue ("role.space").
func (r Role) Key() string { return "role." + string(r) }

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleWarehouse, RoleSpace, RolePrescriber}

// roleKind is the organisation kind each role belongs to; admins belong to the
// network itself, not to an organisation.
var roleKind = map[Role]Kind{
	RoleWarehouse:  KindWarehouse,
	RoleSpace:      KindSpace,
	RolePrescriber: KindPrescriber,
}

// DefaultTimezone is the zone of an organisation created without one.
const DefaultTimezone = "Europe/Paris"

// Organization is a partner of the network. Warehouses and spaces are sites.
type Organization struct {
	ID       int64  `json:"id"`
	Kind     Kind   `json:"kind"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	Address  string `json:"address"`
	// SIREN is a donor company's, printed on its tax receipts.
	SIREN     *string   `json:"siren,omitempty" gorm:"column:siren"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// ReceiptFormat is what a space's printer takes ("80mm" or "a4"); not
	// part of the API's organisation.
	ReceiptFormat string `json:"-" gorm:"default:80mm"`
	// LabelLayout is the label stock a site prints on by default (a
	// pdfdraw layout's name; "" for Tremplin's default); not part of the
	// API's organisation.
	LabelLayout string `json:"-"`
}

// RoleOf is the role of the people who work at an organisation of kind k;
// false for donors and operators, whose people do not log in.
func RoleOf(k Kind) (Role, bool) {
	for r, kind := range roleKind {
		if kind == k {
			return r, true
		}
	}
	return "", false
}

// Location returns the organisation's time zone (validated on write).
func (o Organization) Location() *time.Location {
	loc, err := zone.Load(o.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// User is a person who logs in.
type User struct {
	ID             int64      `json:"id"`
	Email          string     `json:"email"`
	Name           string     `json:"name"`
	PasswordHash   string     `json:"-"`
	Role           Role       `json:"role"`
	OrganizationID *int64     `json:"organization_id"`
	Active         bool       `json:"active"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	LastLoginAt    *time.Time `json:"last_login_at"`
	// Language of the web UI ("fr", "en"; "" follows the browser). Not part
	// of the API's user.
	Language string `json:"-"`
}

const (
	maxNameLen     = 200
	maxAddressLen  = 500
	maxEmailLen    = 254
	minPasswordLen = 10
	maxPasswordLen = 1024
)

// validTimezone reports whether tz names an IANA zone. "Local" depends on the
// server and is refused.
func validTimezone(tz string) bool {
	if tz == "" || tz == "Local" || strings.TrimSpace(tz) != tz {
		return false
	}
	_, err := zone.Load(tz)
	return err == nil
}

func checkName(v *apperr.ValidationError, field, name string) {
	switch n := len([]rune(name)); {
	case strings.TrimSpace(name) == "":
		v.Field(field, "is required")
	case n > maxNameLen:
		v.Field(field, "must be at most %d characters", maxNameLen)
	case !textcheck.CleanName(name):
		v.Field(field, textcheck.NameMessage)
	}
}

// checkPassword refuses a password that is too short or too long, and the
// obvious ones a guesser tries first: one character repeated, the account's
// email or name, a password from the lists of the most common.
func checkPassword(v *apperr.ValidationError, field, pw, email, name string) {
	switch n := len([]rune(pw)); {
	case n < minPasswordLen:
		v.Field(field, "must be at least %d characters", minPasswordLen)
	case n > maxPasswordLen:
		v.Field(field, "must be at most %d characters", maxPasswordLen)
	case obvious(pw, email, name):
		v.Field(field, "is too easy to guess: choose a few words or characters that are not your email or name")
	}
}

// commonPasswords are the most used passwords of ten characters or more
// (French and English lists of leaked passwords); shorter ones are refused
// by their length already.
var commonPasswords = map[string]bool{
	"1234567890": true, "123456789a": true, "1234567891": true, "0987654321": true, "1q2w3e4r5t": true,
	"azertyuiop": true, "qwertyuiop": true, "motdepasse": true, "motdepasse1": true, "motdepasse123": true,
	"password12": true, "password123": true, "password1234": true, "passw0rd123": true, "iloveyou12": true,
	"azerty1234": true, "azerty12345": true, "azerty123456": true, "qwerty1234": true, "qwerty12345": true,
	"qwerty123456": true, "1qaz2wsx3edc": true, "administrateur": true, "administrator": true, "changeme123": true,
	"bonjour123": true, "soleil1234": true, "welcome123": true, "tremplin123": true, "tremplin2026": true,
}

func obvious(pw, email, name string) bool {
	lower := strings.ToLower(strings.TrimSpace(pw))
	if commonPasswords[lower] {
		return true
	}
	first, _ := utf8.DecodeRuneInString(lower)
	if strings.Trim(lower, string(first)) == "" {
		return true
	}
	local, _, _ := strings.Cut(email, "@")
	for _, s := range []string{email, local, name, strings.ReplaceAll(name, " ", "")} {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" && lower == s {
			return true
		}
	}
	return false
}
