// Package testnet builds the small network of organisations and users that
// the domain tests work in, through the partners service, and logs each user
// in. It is test support: only _test files import it.
package testnet

import (
	"context"
	"testing"

	"github.com/tremplin/tremplin/partners"
)

// Org is an organisation to create, under a key that also names its user.
type Org struct {
	Key      string
	Kind     partners.Kind
	Name     string
	Timezone string // "" for the default
	Address  string
}

// Password is every test user's password.
const Password = "correct horse"

// Network is what Build made.
type Network struct {
	Orgs   map[string]partners.Organization
	Tokens map[string]string // bearer tokens, by user key
	Users  map[string]partners.User
}

// Build creates the organisations, then one user per key of roles (email
// KEY@example.org; a user's organisation is the one of the same key, none
// for admins), and logs each in with a bearer token.
func Build(t testing.TB, ps *partners.Service, orgs []Org, roles map[string]partners.Role) Network {
	t.Helper()
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	n := Network{Orgs: map[string]partners.Organization{}, Tokens: map[string]string{}, Users: map[string]partners.User{}}
	for _, o := range orgs {
		in := partners.NewOrganization{Kind: o.Kind, Name: o.Name}
		if o.Timezone != "" {
			in.Timezone = &o.Timezone
		}
		if o.Address != "" {
			in.Address = &o.Address
		}
		org, err := ps.CreateOrganization(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		n.Orgs[o.Key] = org
	}
	for key, role := range roles {
		in := partners.NewUser{Email: key + "@example.org", Name: "User " + key, Password: Password, Role: role}
		if role != partners.RoleAdmin {
			id := n.Orgs[key].ID
			in.OrganizationID = &id
		}
		u, err := ps.CreateUser(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		n.Users[key] = u
		s, err := ps.Login(ctx, partners.Credentials{Email: in.Email, Password: in.Password}, partners.TokenBearer, partners.Client{})
		if err != nil {
			t.Fatal(err)
		}
		n.Tokens[key] = s.Token
	}
	return n
}
