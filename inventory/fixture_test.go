package inventory_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
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

// fixture is a small network served through the real router: two
// warehouses, two spaces, a donor, a prescriber, one user per role.
type fixture struct {
	t      *testing.T
	db     *database.DB
	ps     *partners.Service
	inv    *inventory.Service
	rch    *recharges.Service
	key    []byte
	keys   *secrets.Keyring
	logs   *testenv.LockedBuffer
	http   *testenv.HTTP
	orgs   map[string]partners.Organization
	tokens map[string]string // admin, warehouse, warehouse2, space, space2, prescriber
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
	inv := inventory.NewService(inventory.Config{DB: db, Partners: ps, Recharges: rch})
	logs := &testenv.LockedBuffer{}
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	public := e.Group("/api/v1")
	authed := e.Group("/api/v1", partners.RequireAuth(ps))
	(&partners.API{Service: ps}).Routes(public, authed)
	(&inventory.API{Service: inv}).Routes(authed)
	(&recharges.API{Service: rch}).Routes(authed)
	net := testnet.Build(t, ps, []testnet.Org{
		{Key: "warehouse", Kind: partners.KindWarehouse, Name: "Entrepôt de Montreuil", Address: "1 rue de la Paix"},
		{Key: "warehouse2", Kind: partners.KindWarehouse, Name: "Entrepôt de Lyon", Address: "1 rue de la Paix"},
		{Key: "space", Kind: partners.KindSpace, Name: "Espace Belleville", Address: "1 rue de la Paix"},
		{Key: "space2", Kind: partners.KindSpace, Name: "Espace du Port", Address: "1 rue de la Paix"},
		{Key: "donor", Kind: partners.KindDonor, Name: "Assurances Mutuelles", Address: "1 rue de la Paix"},
		{Key: "prescriber", Kind: partners.KindPrescriber, Name: "CCAS", Address: "1 rue de la Paix"},
		{Key: "operator", Kind: partners.KindOperator, Name: "Opérateur Mobile Solidaire", Address: "1 rue de la Paix"},
	}, map[string]partners.Role{"admin": partners.RoleAdmin, "warehouse": partners.RoleWarehouse, "warehouse2": partners.RoleWarehouse,
		"space": partners.RoleSpace, "space2": partners.RoleSpace, "prescriber": partners.RolePrescriber})
	f := &fixture{t: t, db: db, ps: ps, inv: inv, rch: rch, key: key, keys: keys, logs: logs, http: testenv.NewHTTP(t, e), orgs: net.Orgs, tokens: net.Tokens}
	return f
}

func ptr[T any](v T) *T { return &v }

// donation creates a donation at the first warehouse.
func (f *fixture) donation() int64 {
	f.t.Helper()
	return f.donationAt("warehouse")
}

func (f *fixture) donationAt(wh string) int64 {
	f.t.Helper()
	r := f.http.Do("POST", "/api/v1/donations", f.tokens[wh], map[string]any{"donor_id": f.orgs["donor"].ID, "warehouse_id": f.orgs[wh].ID, "note": "Lot de test"})
	return int64(r.Expect(f.t, 201).Map(f.t)["id"].(float64))
}

// device registers a device and returns its JSON.
func (f *fixture) device(donation int64, body map[string]any) map[string]any {
	f.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["donation_id"] = donation
	if body["category"] == nil {
		body["category"] = "smartphone"
	}
	if body["brand"] == nil {
		body["brand"] = "Samsung"
	}
	if body["model"] == nil {
		body["model"] = "Galaxy A52"
	}
	return f.http.Do("POST", "/api/v1/devices", f.tokens["warehouse"], body).Expect(f.t, 201).Map(f.t)
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

// act applies a transition as a user and returns the answer.
func (f *fixture) act(user string, device int64, body any) *testenv.Response {
	f.t.Helper()
	return f.http.Do("POST", fmt.Sprintf("/api/v1/devices/%d/transitions", device), f.tokens[user], body)
}

// ready takes a new device through diagnosis, erasure and pricing.
func (f *fixture) ready(donation int64, body map[string]any) map[string]any {
	f.t.Helper()
	d := f.device(donation, body)
	f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "B"}).Expect(f.t, 200)
	f.act("warehouse", id(d), map[string]any{"action": "erase", "method": "NIST 800-88 Purge", "result": "passed"}).Expect(f.t, 200)
	return f.act("warehouse", id(d), map[string]any{"action": "mark_ready", "price_cents": 4500}).Expect(f.t, 200).Map(f.t)
}

// imei builds a valid IMEI from a 14-digit body.
func imei(n int) string {
	body := fmt.Sprintf("35%012d", n)
	sum := 0
	for i := 0; i < 14; i++ {
		d := int(body[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + fmt.Sprint((10-sum%10)%10)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
