// Package testnet builds the small network of organisations and users that
// the domain tests work in, through the partners service, and logs each user
// in. It is test support: only _test files import it.
package testnet

import (
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/tremplin/tremplin/api"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
	"github.com/tremplin/tremplin/services"
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

// Stock is the network the stock tests (inventory, recharges) work in,
// served through the real router: two warehouses, two spaces, a donor, a
// prescriber, an operator and one user per role, with the partners,
// recharges and inventory APIs mounted and request logs kept.
type Stock struct {
	Network
	DB        *database.DB
	Partners  *partners.Service
	Recharges *recharges.Service
	Inventory *inventory.Service
	Key       []byte
	Keys      *secrets.Keyring
	Logs      *testenv.LockedBuffer
	HTTP      *testenv.HTTP
}

// NewStock builds it on a fresh database of the suite's engine.
func NewStock(t testing.TB) *Stock {
	t.Helper()
	db := testenv.DB(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := services.New(services.Config{DB: db, Keys: keys, Argon2MemoryKiB: 64, TokenTTL: time.Hour, SessionTTL: time.Hour,
		Logins: partners.LoginLimits{Window: time.Minute, MaxPerUser: 1000, MaxPerAddr: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	ps, rch, inv := g.Partners, g.Recharges, g.Inventory
	logs := &testenv.LockedBuffer{}
	files := httpx.NewFileRoutes()
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Files: files})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Mount(e, api.Config{Services: g, Files: files, Lookups: httpx.NewClientLimiter(time.Millisecond, 1000)}); err != nil {
		t.Fatal(err)
	}
	net := Build(t, ps, []Org{
		{Key: "warehouse", Kind: partners.KindWarehouse, Name: "Entrepôt de Montreuil", Address: "1 rue de la Paix"},
		{Key: "warehouse2", Kind: partners.KindWarehouse, Name: "Entrepôt de Lyon", Address: "1 rue de la Paix"},
		{Key: "space", Kind: partners.KindSpace, Name: "Espace Belleville", Address: "1 rue de la Paix"},
		{Key: "space2", Kind: partners.KindSpace, Name: "Espace du Port", Address: "1 rue de la Paix"},
		{Key: "donor", Kind: partners.KindDonor, Name: "Assurances Mutuelles", Address: "1 rue de la Paix"},
		{Key: "prescriber", Kind: partners.KindPrescriber, Name: "CCAS", Address: "1 rue de la Paix"},
		{Key: "operator", Kind: partners.KindOperator, Name: "Opérateur Mobile Solidaire", Address: "1 rue de la Paix"},
	}, map[string]partners.Role{"admin": partners.RoleAdmin, "warehouse": partners.RoleWarehouse, "warehouse2": partners.RoleWarehouse,
		"space": partners.RoleSpace, "space2": partners.RoleSpace, "prescriber": partners.RolePrescriber})
	return &Stock{Network: net, DB: db, Partners: ps, Recharges: rch, Inventory: inv, Key: key, Keys: keys, Logs: logs, HTTP: testenv.NewHTTP(t, e)}
}
