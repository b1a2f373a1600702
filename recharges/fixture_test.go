package recharges_test

import (
	"encoding/json"
	"testing"

	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/testnet"
)

var admin = partners.Caller{Role: partners.RoleAdmin}

// fixture is a small network served through the real router (partners,
// inventory for transfers, recharges): testnet.NewStock.
type fixture struct {
	t *testing.T
	*testnet.Stock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, Stock: testnet.NewStock(t)}
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
