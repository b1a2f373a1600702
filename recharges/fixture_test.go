package recharges_test

import (
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/internal/testnet"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

var admin = partners.Caller{Role: partners.RoleAdmin}

// fixture is a small network served through the real router (partners,
// inventory for transfers, recharges): two warehouses, two spaces, a donor,
// a prescriber, an operator, one user per role.
type fixture struct {
	t      *testing.T
	db     *database.DB
	ps     *partners.Service
	rch    *recharges.Service
	key    []byte
	keys   *secrets.Keyring
	logs   *testenv.LockedBuffer
	http   *testenv.HTTP
	orgs   map[string]partners.Organization
	tokens map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testenv.DB(t)
	hasher, err := partners.NewHasher(64)
	if err != nil {
		t.Fatal(err)
	}
	ps := partners.NewService(partners.Config{DB: db, Hasher: hasher, TokenTTL: 3600e9, SessionTTL: 3600e9,
		Limits: partners.LoginLimits{Window: 60e9, MaxPerUser: 1000, MaxPerAddr: 1000}})
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	rch := recharges.NewService(recharges.Config{DB: db, Partners: ps, Keys: keys})
	logs := &testenv.LockedBuffer{}
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	public := e.Group("/api/v1")
	authed := e.Group("/api/v1", partners.RequireAuth(ps))
	(&partners.API{Service: ps}).Routes(public, authed)
	(&inventory.API{Service: inventory.NewService(inventory.Config{DB: db, Partners: ps, Recharges: rch})}).Routes(authed)
	(&recharges.API{Service: rch}).Routes(authed)
	net := testnet.Build(t, ps, []testnet.Org{
		{Key: "warehouse", Kind: partners.KindWarehouse, Name: "Entrepôt de Montreuil"},
		{Key: "warehouse2", Kind: partners.KindWarehouse, Name: "Entrepôt de Lyon"},
		{Key: "space", Kind: partners.KindSpace, Name: "Espace Belleville"},
		{Key: "space2", Kind: partners.KindSpace, Name: "Espace du Port"},
		{Key: "donor", Kind: partners.KindDonor, Name: "Assurances Mutuelles"},
		{Key: "prescriber", Kind: partners.KindPrescriber, Name: "CCAS"},
		{Key: "operator", Kind: partners.KindOperator, Name: "Opérateur Mobile Solidaire"},
	}, map[string]partners.Role{"admin": partners.RoleAdmin, "warehouse": partners.RoleWarehouse, "warehouse2": partners.RoleWarehouse,
		"space": partners.RoleSpace, "space2": partners.RoleSpace, "prescriber": partners.RolePrescriber})
	return &fixture{t: t, db: db, ps: ps, rch: rch, key: key, keys: keys, logs: logs, http: testenv.NewHTTP(t, e), orgs: net.Orgs, tokens: net.Tokens}
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
