package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/internal/apispec"
	"github.com/tremplin/tremplin/partners"
)

var pathParam = regexp.MustCompile(`[:*][A-Za-z_]+`)

// TestBadInputSweep sends 10,000 generated malformed requests over every API
// route, as every role and as nobody: no 5xx, no panic, and no domain table
// gains or loses a row.
func TestBadInputSweep(t *testing.T) {
	h, svc, routes := newTestRouter(t)
	tokens := sweepTokens(t, svc)
	counts := tableCounts(svc)
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

// TestControlCharacterSweep puts a control character into every text field
// the OpenAPI document describes (each string property of each JSON request
// body, each string query parameter, each path parameter), one at a time,
// as every role: never a 5xx nor a 2xx, nothing written, and a body field
// with a control character is a 422 naming it. Before the fix, PostgreSQL
// answered 500 to a NUL and SQLite stored it.
func TestControlCharacterSweep(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	tokens := sweepTokens(t, svc)
	var doc map[string]any
	if err := json.Unmarshal(apispec.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	counts := tableCounts(svc)
	before := counts()
	controls := []string{"\x00", "\x07", "\x1b", "\x7f", "\u0085"}
	sent, named := 0, 0
	check := func(method, path, token string, body any, field string) {
		t.Helper()
		r := h.Do(method, path, token, body, "Idempotency-Key", fmt.Sprintf("ctl-%d", sent))
		sent++
		if r.Status >= 500 || r.Status < 300 {
			t.Errorf("%s %s with a control character in %s: %d %.200s", method, path, field, r.Status, r.Body)
			return
		}
		if r.Status == http.StatusUnprocessableEntity && strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			named++
		}
	}
	paths := doc["paths"].(map[string]any)
	for path, ops := range paths {
		if !strings.HasPrefix(path, "/api/v1/") || path == "/api/v1/auth/logout" {
			continue
		}
		for method, raw := range ops.(map[string]any) {
			op, ok := raw.(map[string]any)
			if !ok {
				continue
			}
			method = strings.ToUpper(method)
			concrete := apiPathParam.ReplaceAllString(path, "1")
			// Path parameters.
			for _, name := range apiPathParam.FindAllString(path, -1) {
				bad := strings.Replace(path, name, "TEL"+url.PathEscape(controls[0])+"1", 1)
				check(method, apiPathParam.ReplaceAllString(bad, "1"), tokens[4], emptyBody(method), strings.Trim(name, "{}"))
			}
			// String query parameters.
			if params, ok := op["parameters"].([]any); ok {
				for _, p := range params {
					pm := p.(map[string]any)
					if pm["in"] != "query" {
						continue
					}
					for _, ctl := range controls[:3] {
						check(method, concrete+"?"+pm["name"].(string)+"="+url.QueryEscape("ab"+ctl+"cd"), tokens[4], emptyBody(method), pm["name"].(string))
					}
				}
			}
			// Every string property of a JSON body, one at a time.
			schema := jsonBodySchema(doc, op)
			if schema == nil {
				continue
			}
			for _, field := range stringFields(doc, schema, "") {
				for _, ctl := range controls {
					for _, tok := range tokens[1:] {
						check(method, concrete, tok, nestedBody(field, "ab"+ctl+"cd"), field)
					}
				}
			}
		}
	}
	if after := counts(); after != before {
		t.Fatalf("control characters wrote:\nbefore %s\nafter  %s", before, after)
	}
	if named == 0 {
		t.Fatal("no answer named the field with the control character")
	}
	t.Logf("%d requests, %d 422s naming their field", sent, named)
}

var apiPathParam = regexp.MustCompile(`\{[A-Za-z_]+\}`)

func emptyBody(method string) any {
	if method == "GET" {
		return nil
	}
	return map[string]any{}
}

// jsonBodySchema is the schema of an operation's JSON request body, or nil.
func jsonBodySchema(doc map[string]any, op map[string]any) map[string]any {
	rb, ok := op["requestBody"].(map[string]any)
	if !ok {
		return nil
	}
	content, _ := rb["content"].(map[string]any)
	js, ok := content["application/json"].(map[string]any)
	if !ok {
		return nil
	}
	s, _ := js["schema"].(map[string]any)
	return resolveRef(doc, s)
}

func resolveRef(doc map[string]any, s map[string]any) map[string]any {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = doc["components"].(map[string]any)["schemas"].(map[string]any)[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	return s
}

// stringFields lists the paths (name, a.b, items[0].c) of the string
// properties of a schema.
func stringFields(doc, s map[string]any, prefix string) []string {
	s = resolveRef(doc, s)
	var out []string
	switch s["type"] {
	case "string":
		return []string{prefix}
	case "array":
		if items, ok := s["items"].(map[string]any); ok {
			return stringFields(doc, items, prefix+"[0]")
		}
	case "object", nil:
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			child := name
			if prefix != "" {
				child = prefix + "." + name
			}
			out = append(out, stringFields(doc, p.(map[string]any), child)...)
		}
		extra, _ := s["additionalProperties"].(map[string]any)
		switch {
		case extra != nil:
			child := "smartphone"
			if prefix != "" {
				child = prefix + "." + child
			}
			out = append(out, stringFields(doc, extra, child)...)
		case s["type"] == "object" && len(props) == 0 && prefix != "":
			out = append(out, prefix+".x") // a free-form object, such as specs
		}
	}
	return out
}

// nestedBody builds {"a":{"b":[{"c": value}]}} from "a.b[0].c".
func nestedBody(path string, value string) any {
	if path == "" {
		return value
	}
	if strings.HasPrefix(path, "[0]") {
		return []any{nestedBody(strings.TrimPrefix(strings.TrimPrefix(path, "[0]"), "."), value)}
	}
	name, rest := path, ""
	if i := strings.IndexAny(path, ".["); i >= 0 {
		name, rest = path[:i], strings.TrimPrefix(path[i:], ".")
	}
	return map[string]any{name: nestedBody(rest, value)}
}

// sweepTokens logs in one user per role: "" (nobody), warehouse, space,
// prescriber, admin.
func sweepTokens(t *testing.T, svc *app) []string {
	t.Helper()
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
	return tokens
}

// tableCounts counts the rows of every table the API writes.
func tableCounts(svc *app) func() string {
	// Every table the API writes but the log-like ones that bad input may
	// rightly grow (login attempts, the audit log) and auth_tokens.
	tables := []string{"organizations", "users", "tag_prefixes", "tag_counters", "donations", "devices", "device_events", "price_grid",
		"stock_checks", "transfers", "transfer_devices", "transfer_recharges", "recharge_products", "recharge_thresholds", "recharge_batches",
		"recharge_units", "beneficiaries", "vouchers", "sales", "sale_lines", "refunds", "idempotency_keys", "closings"}
	return func() string {
		var b strings.Builder
		for _, tb := range tables {
			var n int64
			svc.db.Table(tb).Count(&n)
			fmt.Fprintf(&b, "%s=%d ", tb, n)
		}
		return b.String()
	}
}
