package inventory_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tremplin/tremplin/inventory"
)

func TestIMEIAndSerialRules(t *testing.T) {
	for s, ok := range map[string]bool{"356938035643809": true, "490154203237518": true, "356938035643808": false,
		"35693803564380": false, "35693803564380a": false, "": false} {
		if inventory.ValidIMEI(s) != ok {
			t.Errorf("ValidIMEI(%q) != %v", s, ok)
		}
	}
	if got := inventory.NormalizeIMEI("35-693803 564380/9"); got != "356938035643809" {
		t.Errorf("NormalizeIMEI %q", got)
	}
}

func TestDonations(t *testing.T) {
	f := newFixture(t)
	r := f.HTTP.Do("POST", "/api/v1/donations", f.Tokens["warehouse"], map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse"].ID, "received_on": "2026-01-15"}).Expect(t, 201).Map(t)
	if r["received_on"] != "2026-01-15" || r["donor"] != "Assurances Mutuelles" {
		t.Fatalf("donation %v", r)
	}
	don := id(r)
	f.device(don, nil)
	f.device(don, map[string]any{"category": "laptop", "brand": "Lenovo", "model": "ThinkPad T480"})
	got := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d", don), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if got["total_devices"].(float64) != 2 || got["counts"].(map[string]any)["received"].(float64) != 2 {
		t.Fatalf("counts %v", got)
	}
	for _, c := range []struct {
		user   string
		body   map[string]any
		status int
	}{
		{"warehouse", map[string]any{"donor_id": f.Orgs["space"].ID, "warehouse_id": f.Orgs["warehouse"].ID}, 422},
		{"warehouse", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["space"].ID}, 422},
		{"warehouse", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse2"].ID}, 422},
		{"warehouse", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse"].ID, "received_on": "2999-01-01"}, 422},
		{"warehouse", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse"].ID, "received_on": "15/01/2026"}, 422},
		{"warehouse", map[string]any{}, 422},
		{"space", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse"].ID}, 403},
		{"prescriber", map[string]any{"donor_id": f.Orgs["donor"].ID, "warehouse_id": f.Orgs["warehouse"].ID}, 403},
	} {
		f.HTTP.Do("POST", "/api/v1/donations", f.Tokens[c.user], c.body).ExpectProblem(t, c.status)
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d", don), f.Tokens["warehouse2"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d", don), f.Tokens["admin"], nil).Expect(t, 200)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d", don), f.Tokens["space"], nil).ExpectProblem(t, 403)
	var l struct{ Items []map[string]any }
	f.HTTP.Do("GET", "/api/v1/donations", f.Tokens["warehouse2"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("another warehouse lists %d donations", len(l.Items))
	}
}

var tagPattern = regexp.MustCompile(`^TEL-\d{5}$`)

func TestRegisterDevice(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	d := f.device(don, map[string]any{"imei": "35 693803 564380 9", "serial": " r58n12abcde ", "specs": map[string]any{"ram_gb": 4, "storage_gb": 128, "battery_health": 87}})
	if !tagPattern.MatchString(d["tag"].(string)) || d["state"] != "received" || int64(d["site_id"].(float64)) != f.Orgs["warehouse"].ID {
		t.Fatalf("device %v", d)
	}
	if d["imei"] != "356938035643809" || d["serial"] != "R58N12ABCDE" || d["specs"].(map[string]any)["ram_gb"].(float64) != 4 {
		t.Fatalf("normalisation: %v", d)
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"bad Luhn", map[string]any{"imei": "356938035643808"}, 422, "imei"},
		{"14 digits", map[string]any{"imei": "35693803564380"}, 422, "imei"},
		{"letters", map[string]any{"imei": "35693803564380X"}, 422, "imei"},
		{"duplicate IMEI", map[string]any{"imei": "356938035643809"}, 409, ""},
		{"duplicate serial, other case", map[string]any{"serial": "r58n12ABCDE"}, 409, ""},
		{"unknown category", map[string]any{"category": "toaster"}, 422, "category"},
		{"no brand", map[string]any{"brand": "  "}, 422, "brand"},
		{"specs not an object", map[string]any{"specs": []int{1, 2}}, 422, "specs"},
		{"long model", map[string]any{"model": strings.Repeat("x", 101)}, 422, "model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"donation_id": don, "category": "smartphone", "brand": "Samsung", "model": "A52"}
			for k, v := range c.body {
				body[k] = v
			}
			p := f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["warehouse"], body).ExpectProblem(t, c.status)
			if c.field != "" && !strings.Contains(string(mustJSON(p["errors"])), `"field":"`+c.field+`"`) {
				t.Errorf("no error on %s: %v", c.field, p["errors"])
			}
		})
	}
	base := map[string]any{"donation_id": don, "category": "smartphone", "brand": "Samsung", "model": "A52"}
	f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["space"], base).ExpectProblem(t, 403)
	f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["prescriber"], base).ExpectProblem(t, 403)
	f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["warehouse2"], base).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["warehouse"], `{"donation_id": "one"}`).ExpectProblem(t, 400)

	// Once recycled, the IMEI and serial are free again.
	f.act("warehouse", id(d), map[string]any{"action": "recycle", "reason": "écran cassé"}).Expect(t, 200)
	f.device(don, map[string]any{"imei": "356938035643809", "serial": "R58N12ABCDE"})

	// Visibility: other sites do not see the device.
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(d)), f.Tokens["space"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(d)), f.Tokens["warehouse2"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(d)), f.Tokens["prescriber"], nil).ExpectProblem(t, 403)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(d)), f.Tokens["admin"], nil).Expect(t, 200)
}

func TestTagPrefixes(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	f.HTTP.Do("PUT", "/api/v1/tag-prefixes", f.Tokens["warehouse"], map[string]string{"laptop": "LAP"}).ExpectProblem(t, 403)
	f.HTTP.Do("PUT", "/api/v1/tag-prefixes", f.Tokens["admin"], map[string]string{"laptop": "lap top"}).ExpectProblem(t, 422)
	f.HTTP.Do("PUT", "/api/v1/tag-prefixes", f.Tokens["admin"], map[string]string{"toaster": "TOA"}).ExpectProblem(t, 422)
	p := f.HTTP.Do("PUT", "/api/v1/tag-prefixes", f.Tokens["admin"], map[string]string{"laptop": "LAP"}).Expect(t, 200).Map(t)
	if p["laptop"] != "LAP" || p["smartphone"] != "TEL" {
		t.Fatalf("prefixes %v", p)
	}
	d := f.device(don, map[string]any{"category": "laptop", "brand": "Dell", "model": "Latitude 5490"})
	if d["tag"] != "LAP-00001" {
		t.Fatalf("tag %v", d["tag"])
	}
}

// TestConcurrentRegistration: 50 goroutines registering at once get 50
// distinct tags.
func TestConcurrentRegistration(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	var wg sync.WaitGroup
	var mu sync.Mutex
	tags := map[string]bool{}
	var failures []string
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["warehouse"], map[string]any{"donation_id": don, "category": "smartphone",
				"brand": "Apple", "model": "iPhone 8", "imei": imei(i)})
			mu.Lock()
			defer mu.Unlock()
			if r.Status != 201 {
				failures = append(failures, string(r.Body))
				return
			}
			tags[fmt.Sprint(r.Field("tag"))] = true
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d registrations failed: %v", len(failures), failures[0])
	}
	if len(tags) != 50 {
		t.Fatalf("%d distinct tags for 50 devices", len(tags))
	}
}

func TestListAndScan(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	a := f.device(don, map[string]any{"imei": imei(1), "serial": "SN-AAA"})
	b := f.device(don, map[string]any{"category": "laptop", "brand": "Lenovo", "model": "ThinkPad X250", "serial": "PF0ABC12"})
	tagA := a["tag"].(string)
	for _, code := range []string{tagA, strings.ToLower(tagA), "  " + tagA + "\r\n", strings.ReplaceAll(tagA, "-", ""), imei(1),
		imei(1)[:2] + " " + imei(1)[2:8] + " " + imei(1)[8:], imei(1)[:2] + "-" + imei(1)[2:8] + "-" + imei(1)[8:14] + "/" + imei(1)[14:], "sn-aaa"} {
		r := f.HTTP.Do("GET", "/api/v1/scan/"+urlPath(code), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
		if r["kind"] != "device" || r["device"].(map[string]any)["tag"] != tagA {
			t.Errorf("scan %q: %v", code, r)
		}
	}
	f.HTTP.Do("GET", "/api/v1/scan/NOPE-12345", f.Tokens["warehouse"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", "/api/v1/scan/"+tagA, f.Tokens["space"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", "/api/v1/scan/"+tagA, f.Tokens["prescriber"], nil).ExpectProblem(t, 403)

	list := func(q string) []string {
		var l struct{ Items []map[string]any }
		f.HTTP.Do("GET", "/api/v1/devices"+q, f.Tokens["warehouse"], nil).Expect(t, 200).Decode(t, &l)
		var out []string
		for _, d := range l.Items {
			out = append(out, d["tag"].(string))
		}
		return out
	}
	if got := list("?category=laptop"); len(got) != 1 || got[0] != b["tag"] {
		t.Errorf("category filter %v", got)
	}
	if got := list("?q=thinkpad"); len(got) != 1 {
		t.Errorf("text search %v", got)
	}
	if got := list("?q=" + tagA); len(got) != 1 || got[0] != tagA {
		t.Errorf("tag search %v", got)
	}
	if got := list("?q=100%25"); len(got) != 0 {
		t.Errorf("%% is a wildcard: %v", got)
	}
	if got := list(fmt.Sprintf("?state=received&donation_id=%d", don)); len(got) != 2 {
		t.Errorf("state filter %v", got)
	}
	if got := list(fmt.Sprintf("?site_id=%d", f.Orgs["space"].ID)); len(got) != 0 {
		t.Errorf("site filter %v", got)
	}
	f.HTTP.Do("GET", "/api/v1/devices?state=broken", f.Tokens["warehouse"], nil).ExpectProblem(t, 422)
	f.HTTP.Do("GET", "/api/v1/devices?site_id=x", f.Tokens["warehouse"], nil).ExpectProblem(t, 422)
	var l struct{ Items []any }
	f.HTTP.Do("GET", "/api/v1/devices", f.Tokens["space"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("a space lists %d warehouse devices", len(l.Items))
	}
}

func urlPath(s string) string {
	return strings.NewReplacer(" ", "%20", "\r", "%0D", "\n", "%0A").Replace(s)
}
