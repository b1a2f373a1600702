package inventory_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/testnet"
)

// fixture is a small network served through the real router: two
// warehouses, two spaces, a donor, a prescriber, an operator, one user per
// role (testnet.NewStock).
type fixture struct {
	t *testing.T
	*testnet.Stock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, Stock: testnet.NewStock(t)}
}

// donation creates a donation at the first warehouse.
func (f *fixture) donation() int64 {
	f.t.Helper()
	return f.donationAt("warehouse")
}

func (f *fixture) donationAt(wh string) int64 {
	f.t.Helper()
	r := f.HTTP.Do("POST", "/api/v1/donations", f.Tokens[wh], map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs[wh].ID, "note": "Lot de test"})
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
	return f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["warehouse"], body).Expect(f.t, 201).Map(f.t)
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

// act applies a transition as a user and returns the answer.
func (f *fixture) act(user string, device int64, body any) *testenv.Response {
	f.t.Helper()
	return f.HTTP.Do("POST", fmt.Sprintf("/api/v1/devices/%d/transitions", device), f.Tokens[user], body)
}

// ready takes a new device through diagnosis, erasure and pricing.
func (f *fixture) ready(donation int64, body map[string]any) map[string]any {
	f.t.Helper()
	d := f.device(donation, body)
	f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "B", "locks": noLocks}).Expect(f.t, 200)
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

// noLocks is a diagnosis's lock checks that found nothing.
var noLocks = map[string]string{"account": "clear", "mdm": "clear", "firmware": "not_applicable", "blocklist": "clear"}
