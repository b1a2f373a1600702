package recharges_test

import (
	"encoding/json"
	"testing"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/internal/testnet"
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
	n := testnet.NewStock(t)
	return &fixture{t: t, db: n.DB, ps: n.Partners, rch: n.Recharges, key: n.Key, keys: n.Keys, logs: n.Logs,
		http: n.HTTP, orgs: n.Orgs, tokens: n.Tokens}
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
