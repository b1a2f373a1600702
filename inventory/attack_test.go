package inventory_test

// Tests for the holes an attack found (issue 10): each failed before its fix.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestErrorListsAreBounded: a file of bad lines answers the first 1,000 with
// a count and a short detail; before, a 16 MB file gave a 25 MB answer.
func TestErrorListsAreBounded(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	var b strings.Builder
	b.WriteString("category,brand,model,serial,imei\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "toaster,Moulinex,Modèle %d,,\n", i)
	}
	r := f.intake("warehouse", don, b.String())
	p := r.ExpectProblem(t, 422)
	errs := p["errors"].([]any)
	if len(errs) > 1001 || len(errs) < 1000 {
		t.Fatalf("%d errors listed", len(errs))
	}
	if last := fmt.Sprint(errs[len(errs)-1]); !strings.Contains(last, "4000 more") {
		t.Fatalf("the count of unlisted lines is missing: %s", last)
	}
	if d := p["detail"].(string); len(d) > 500 {
		t.Fatalf("detail of %d bytes: %.200s…", len(d), d)
	}
	if len(r.Body) > 200<<10 {
		t.Fatalf("answer of %d KB", len(r.Body)>>10)
	}
	if n := deviceCount(f, don); n != 0 {
		t.Fatalf("%d devices registered", n)
	}
}

// TestControlCharactersRefused: a NUL or another control character in any
// text field is a 422 naming the field, on both engines, and nothing is
// written. Before, PostgreSQL answered 500 and SQLite stored the NUL.
func TestControlCharactersRefused(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	before := f.count()
	for _, c := range []struct {
		method, path, user string
		body               any
		field              string
	}{
		{"POST", "/api/v1/devices", "warehouse", map[string]any{"donation_id": don, "category": "smartphone", "brand": "Sam\x00sung", "model": "A52"}, "brand"},
		{"POST", "/api/v1/devices", "warehouse", map[string]any{"donation_id": don, "category": "smartphone", "brand": "Samsung", "model": "A52",
			"specs": map[string]any{"ram": "4\x1bGo"}}, "specs.ram"},
		{"POST", "/api/v1/donations", "warehouse", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse"].ID, "note": "lot\x00"}, "note"},
		{"POST", "/api/v1/recharge-products", "admin", map[string]any{"operator_id": f.Orgs["operator"].ID, "name": "Recharge\x0010", "face_value_cents": 1000, "price_cents": 200}, "name"},
		{"GET", "/api/v1/devices?q=%00", "warehouse", nil, "q"},
		{"GET", "/api/v1/devices?q=abc%07", "warehouse", nil, "q"},
		{"GET", "/api/v1/scan/TEL%00", "warehouse", nil, "code"},
	} {
		r := f.HTTP.Do(c.method, c.path, f.Tokens[c.user], c.body)
		p := r.ExpectProblem(t, 422)
		b, _ := json.Marshal(p["errors"])
		if !strings.Contains(string(b), `"field":"`+c.field+`"`) {
			t.Errorf("%s %s: errors %s do not name %q", c.method, c.path, b, c.field)
		}
	}
	// The intake file goes through the same check.
	f.intake("warehouse", don, "category,brand,model\nsmartphone,Sam\x00sung,A52\n").ExpectProblem(t, 422)
	// Line breaks and tabs stay allowed in a note.
	f.HTTP.Do("POST", "/api/v1/donations", f.Tokens["warehouse"], map[string]any{"donor_id": f.Orgs["donor"].ID,
		"warehouse_id": f.Orgs["warehouse"].ID, "note": "Carton 1 :\n\t- 3 téléphones"}).Expect(t, 201)
	if after := f.count(); after != before+1 {
		t.Fatalf("rows before %d, after %d", before, after)
	}
}

// count is the number of rows in the tables the API writes.
func (f *fixture) count() int64 {
	var total int64
	for _, tb := range []string{"donations", "devices", "device_events", "recharge_products", "recharge_units"} {
		var n int64
		f.DB.Table(tb).Count(&n)
		total += n
	}
	return total
}

// TestStockCheckHidesOtherSitesDevices: a space scanning a warehouse's tag
// learns only that the code is recorded elsewhere. Before, it got the brand,
// model, state and site of a device GET /devices/{id} hides from it.
func TestStockCheckHidesOtherSitesDevices(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	d := f.device(don, map[string]any{"brand": "Fairphone", "model": "FP3", "serial": "FP3-SECRET"})
	tag := d["tag"].(string)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(d)), f.Tokens["space"], nil).ExpectProblem(t, 404)
	r := f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", f.Orgs["space"].ID), f.Tokens["space"],
		map[string]any{"codes": []string{tag, "FP3-SECRET"}}).Expect(t, 201)
	var res struct {
		Elsewhere []map[string]any `json:"elsewhere"`
	}
	r.Decode(t, &res)
	if len(res.Elsewhere) != 1 || res.Elsewhere[0]["code"] != tag {
		t.Fatalf("elsewhere %v", res.Elsewhere)
	}
	if len(res.Elsewhere[0]) != 1 || strings.Contains(string(r.Body), "Fairphone") || strings.Contains(string(r.Body), "FP3") {
		t.Fatalf("a space learnt about another site's device: %s", r.Body)
	}
	// The warehouse that holds it, checking another shelf, sees everything.
	r = f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", f.Orgs["warehouse"].ID), f.Tokens["admin"],
		map[string]any{"codes": []string{tag}}).Expect(t, 201)
	r.Decode(t, &res)
	if len(res.Elsewhere) != 0 {
		t.Fatalf("the device's own site has it elsewhere: %v", res.Elsewhere)
	}
	r = f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", f.Orgs["space"].ID), f.Tokens["admin"],
		map[string]any{"codes": []string{tag}}).Expect(t, 201)
	r.Decode(t, &res)
	if len(res.Elsewhere) != 1 || res.Elsewhere[0]["brand"] != "Fairphone" {
		t.Fatalf("an admin sees %v", res.Elsewhere)
	}
}
