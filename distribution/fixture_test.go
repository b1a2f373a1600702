package distribution_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tremplin/tremplin/api"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
	"github.com/tremplin/tremplin/services"
	"github.com/tremplin/tremplin/testnet"
)

var admin = partners.Caller{Role: partners.RoleAdmin}

type fixture struct {
	t      *testing.T
	db     *database.DB
	svc    *distribution.Service
	inv    *inventory.Service
	rch    *recharges.Service
	http   *testenv.HTTP
	clock  *testenv.Clock
	orgs   map[string]partners.Organization
	tokens map[string]string
}

func newFixture(t *testing.T, limits ...distribution.LookupLimits) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, limits...)
}

// newFixtureWith is newFixture whose service may message people on channels.
func newFixtureWith(t *testing.T, channels []string, limits ...distribution.LookupLimits) *fixture {
	t.Helper()
	db := testenv.DB(t)
	clk := testenv.NewClock(database.Now())
	lim := distribution.LookupLimits{Window: 15 * time.Minute, Max: 50}
	if len(limits) > 0 {
		lim = limits[0]
	}
	keys, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	// The clock is every service's: tokens outlive the years a test moves it on.
	g, err := services.New(services.Config{DB: db, Keys: keys, Argon2MemoryKiB: 64, TokenTTL: 10 * 365 * 24 * time.Hour, SessionTTL: time.Hour,
		Logins:  partners.LoginLimits{Window: time.Minute, MaxPerUser: 1000, MaxPerAddr: 1000},
		Lookups: lim, Policy: distribution.Policy{DevicesPerYear: 2, WarrantyMonths: 6}, Channels: channels, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ps, rch, inv, svc := g.Partners, g.Recharges, g.Inventory, g.Distribution
	files := httpx.NewFileRoutes()
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Files: files})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Mount(e, api.Config{Services: g, Files: files}); err != nil {
		t.Fatal(err)
	}
	net := testnet.Build(t, ps, []testnet.Org{
		{Key: "prescriber", Kind: partners.KindPrescriber, Name: "CCAS de Montreuil", Timezone: "Europe/Paris", Address: "1 place Jean-Jaurès, 93100 Montreuil"},
		{Key: "prescriber2", Kind: partners.KindPrescriber, Name: "Mission locale Nord", Timezone: "Indian/Reunion", Address: "20 rue de Paris, 97400 Saint-Denis"},
		{Key: "space", Kind: partners.KindSpace, Name: "Espace Belleville", Timezone: "Europe/Paris", Address: "48 rue de Belleville, 75020 Paris"},
		{Key: "space2", Kind: partners.KindSpace, Name: "Espace du Port", Timezone: "Indian/Reunion", Address: "3 rue Léon de Lépervanche, 97420 Le Port"},
		{Key: "warehouse", Kind: partners.KindWarehouse, Name: "Entrepôt", Timezone: "Europe/Paris"},
		{Key: "operator", Kind: partners.KindOperator, Name: "Opérateur", Timezone: "Europe/Paris"},
		{Key: "donor", Kind: partners.KindDonor, Name: "Donateur", Timezone: "Europe/Paris"},
	}, map[string]partners.Role{"admin": partners.RoleAdmin, "prescriber": partners.RolePrescriber, "prescriber2": partners.RolePrescriber,
		"space": partners.RoleSpace, "space2": partners.RoleSpace, "warehouse": partners.RoleWarehouse})
	f := &fixture{t: t, db: db, svc: svc, inv: inv, rch: rch, http: testenv.NewHTTP(t, e), clock: clk, orgs: net.Orgs, tokens: net.Tokens}
	return f
}

func (f *fixture) beneficiary(user string, body map[string]any) map[string]any {
	f.t.Helper()
	return f.http.Do("POST", "/api/v1/beneficiaries", f.tokens[user], body).Expect(f.t, 201).Map(f.t)
}

func (f *fixture) voucher(user string, beneficiary int64, days int) map[string]any {
	f.t.Helper()
	return f.http.Do("POST", "/api/v1/vouchers", f.tokens[user], map[string]any{"beneficiary_id": beneficiary,
		"device_categories": []string{"smartphone", "laptop"}, "devices": 1, "recharges": 2, "valid_days": days}).Expect(f.t, 201).Map(f.t)
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }
