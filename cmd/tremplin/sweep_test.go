package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/partners"
)

var pathParam = regexp.MustCompile(`[:*][A-Za-z_]+`)

// TestBadInputSweep sends 10,000 generated malformed requests over every API
// route, as every role and as nobody: no 5xx, no panic, and no domain table
// gains or loses a row.
func TestBadInputSweep(t *testing.T) {
	h, svc, routes := newTestRouter(t)
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	tokens := []string{""}
	for _, o := range []struct {
		kind partners.Kind
		role partners.Role
	}{{partners.KindWarehouse, partners.RoleWarehouse}, {partners.KindSpace, partners.RoleSpace}, {partners.KindPrescriber, partners.RolePrescriber}, {"", partners.RoleAdmin}} {
		in := partners.NewUser{Email: fmt.Sprintf("%s@example.org", o.role), Name: "U", Password: "0123456789", Role: o.role}
		if o.kind != "" {
			org, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: o.kind, Name: string(o.kind)})
			if err != nil {
				t.Fatal(err)
			}
			in.OrganizationID = &org.ID
		}
		if _, err := svc.partners.CreateUser(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
		s, err := svc.partners.Login(ctx, partners.Credentials{Email: in.Email, Password: in.Password}, partners.TokenBearer, partners.Client{})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, s.Token)
	}
	tables := []string{"organizations", "users", "donations", "devices", "device_events", "price_grid", "tag_prefixes", "stock_checks",
		"transfers", "recharge_products", "recharge_batches", "recharge_units", "beneficiaries", "vouchers", "sales", "sale_lines", "refunds", "closings"}
	counts := func() string {
		var b strings.Builder
		for _, tb := range tables {
			var n int64
			svc.db.Table(tb).Count(&n)
			fmt.Fprintf(&b, "%s=%d ", tb, n)
		}
		return b.String()
	}
	before := counts()

	params := []string{"0", "-1", "abc", "99999999999999999999", "..%2F..%2Fetc%2Fpasswd", "%00", "%3Cscript%3E", "'%20OR%201=1%20--",
		strings.Repeat("9", 300), "%C3%28", "K7QM-3XPD-9RTW", "TEL-99999", "1e9", "null"}
	bodies := []string{"", "{", "[]", "null", `"text"`, "{}", `{"id": "x"}`, `{"site_id": -1, "items": [{}]}`,
		`{"name": 1e999}`, `{"kind": ["space"]}`, `{"email": "\u0000"}`, "\xff\xfe\xfd", `{"a":` + strings.Repeat("[", 5000) + `}`,
		`{"voucher_code": "' OR 1=1 --", "items": [{"device_id": 99999999999}]}`, `{"device_ids": [1e300]}`, `{"codes": "TEL"}`,
		`{"name": "<script>alert(1)</script>", "kind": "<b>space</b>"}`, `{"quantity": 9223372036854775808}`, `serial,pin,expires_on` + "\n\"",
		`{"password": "` + strings.Repeat("x", 5000) + `"}`, "\"unterminated", `{"valid_days": "30"}`}
	queries := []string{"", "?limit=abc", "?limit=-5", "?cursor=%%%", "?cursor=Zm9v", "?state=%00", "?date=2026-13-45", "?month=x",
		"?site_id=1e9", "?q=%25%25%25", "?format=exe", "?layout=../../x", "?product_id=abc&site_id=-1", "?status=<b>"}
	rng := rand.New(rand.NewPCG(42, 7))
	type route struct{ method, path string }
	var api []route
	for _, r := range routes() {
		method, path, _ := strings.Cut(r, " ")
		// Logout would revoke the sweep's own tokens; it is tested on its own.
		if strings.HasPrefix(path, "/api/") && method != "HEAD" && path != "/api/v1/auth/logout" {
			api = append(api, route{method, path})
		}
	}
	big := `{"name": "` + strings.Repeat("x", 10<<20) + `"}`
	fivexx := map[string]int{}
	for i := range 10_000 {
		r := api[i%len(api)]
		path := pathParam.ReplaceAllStringFunc(r.path, func(string) string { return params[rng.IntN(len(params))] })
		path += queries[rng.IntN(len(queries))]
		var body any
		if r.method != "GET" {
			body = bodies[rng.IntN(len(bodies))]
			if i%1000 == 999 {
				body = big
			}
		}
		headers := []string{"Idempotency-Key", fmt.Sprintf("sweep-%d", i)}
		if i%7 == 0 {
			headers = append(headers, "Content-Type", "text/csv")
		}
		resp := h.Do(r.method, path, tokens[rng.IntN(len(tokens))], body, headers...)
		if resp.Status >= 500 {
			fivexx[fmt.Sprintf("%s %s → %d %.120s", r.method, path, resp.Status, resp.Body)]++
		}
	}
	for k, n := range fivexx {
		t.Errorf("%d× %s", n, k)
	}
	if after := counts(); after != before {
		t.Fatalf("bad input wrote:\nbefore %s\nafter  %s", before, after)
	}
	// A 10 MB JSON body is refused with 413 before it is read in full.
	if r := h.Do("POST", "/api/v1/organizations", tokens[4], big); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("10 MB body: %d", r.Status)
	}
}
