package partners_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestRoleMatrix drives each role through each partners endpoint: what is
// allowed, what is refused (403), and what is invisible (404).
func TestRoleMatrix(t *testing.T) {
	f := newFixture(t)
	tokens := map[string]string{}
	for _, k := range []string{"admin", "warehouse", "space", "prescriber"} {
		tokens[k] = f.login(k)
	}
	o := func(k string) int64 { return f.orgs[k].ID }
	u := func(k string) int64 { return f.users[k].ID }
	newOrg := map[string]any{"kind": "donor", "name": "Nouveau donateur"}
	type want struct{ admin, warehouse, space, prescriber int }
	cases := []struct {
		method, path string
		body         func() any
		want         want
	}{
		{"GET", "/api/v1/me", nil, want{200, 200, 200, 200}},
		{"POST", "/api/v1/organizations", func() any { return newOrg }, want{201, 403, 403, 403}},
		{"GET", "/api/v1/organizations", nil, want{200, 200, 200, 200}},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", o("space")), nil, want{200, 200, 200, 200}},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", o("warehouse")), nil, want{200, 200, 200, 404}},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", o("donor")), nil, want{200, 200, 404, 404}},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", o("operator")), nil, want{200, 200, 404, 404}},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", o("prescriber")), nil, want{200, 404, 404, 200}},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", o("prescriber2")), nil, want{200, 404, 404, 404}},
		{"GET", "/api/v1/organizations/999999", nil, want{404, 404, 404, 404}},
		{"GET", "/api/v1/organizations/abc", nil, want{404, 404, 404, 404}},
		{"PATCH", fmt.Sprintf("/api/v1/organizations/%d", o("space")), func() any { return map[string]any{"address": "1 rue X"} }, want{200, 403, 403, 403}},
		{"POST", "/api/v1/users", func() any {
			return map[string]any{"email": fmt.Sprintf("n%d@example.org", len(f.users)), "name": "N", "password": "0123456789ab",
				"role": "space", "organization_id": o("space")}
		}, want{201, 403, 403, 403}},
		{"GET", "/api/v1/users", nil, want{200, 200, 200, 200}},
		{"GET", fmt.Sprintf("/api/v1/users/%d", u("space-colleague")), nil, want{200, 404, 200, 404}},
		{"GET", fmt.Sprintf("/api/v1/users/%d", u("prescriber2")), nil, want{200, 404, 404, 404}},
		{"GET", fmt.Sprintf("/api/v1/users/%d", u("admin")), nil, want{200, 404, 404, 404}},
		{"PATCH", fmt.Sprintf("/api/v1/users/%d", u("space-colleague")), func() any { return map[string]any{"name": "Renamed"} }, want{200, 404, 403, 404}},
		{"PATCH", fmt.Sprintf("/api/v1/users/%d", u("prescriber2")), func() any { return map[string]any{"name": "Renamed"} }, want{200, 404, 404, 404}},
	}
	for _, c := range cases {
		for role, status := range map[string]int{"admin": c.want.admin, "warehouse": c.want.warehouse, "space": c.want.space, "prescriber": c.want.prescriber} {
			t.Run(c.method+" "+c.path+" as "+role, func(t *testing.T) {
				var body any
				if c.body != nil {
					body = c.body()
				}
				r := f.http.Do(c.method, c.path, tokens[role], body)
				if status >= 400 {
					r.ExpectProblem(t, status)
				} else {
					r.Expect(t, status)
				}
			})
		}
	}
}

func TestOrganizationListIsScoped(t *testing.T) {
	f := newFixture(t)
	names := func(token, query string) []string {
		var l struct {
			Items []struct {
				Name, Kind string
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		f.http.Do("GET", "/api/v1/organizations"+query, token, nil).Expect(t, 200).Decode(t, &l)
		var out []string
		for _, i := range l.Items {
			out = append(out, i.Kind+":"+i.Name)
		}
		return out
	}
	got := strings.Join(names(f.login("prescriber"), ""), ",")
	if got != "space:Espace Belleville,space:Espace du Port,prescriber:CCAS" &&
		!(strings.Contains(got, "prescriber:CCAS") && strings.Count(got, "space:") == 2 && strings.Count(got, ",") == 2) {
		t.Fatalf("prescriber sees %s", got)
	}
	if strings.Contains(got, "Mission locale") || strings.Contains(got, "Donateur") {
		t.Fatalf("prescriber sees another prescriber or a donor: %s", got)
	}
	if n := len(names(f.login("admin"), "")); n != 7 {
		t.Fatalf("admin sees %d organisations, want 7", n)
	}
	if got := names(f.login("admin"), "?kind=space"); len(got) != 2 {
		t.Fatalf("kind=space gives %v", got)
	}
	f.http.Do("GET", "/api/v1/organizations?kind=castle", f.login("admin"), nil).ExpectProblem(t, 422)
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	token := f.login("admin")
	seen := map[float64]bool{}
	cursor := ""
	pages := 0
	for {
		var l struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		q := "/api/v1/organizations?limit=3"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		f.http.Do("GET", q, token, nil).Expect(t, 200).Decode(t, &l)
		pages++
		for _, it := range l.Items {
			id := it["id"].(float64)
			if seen[id] {
				t.Fatalf("organisation %v on two pages", id)
			}
			seen[id] = true
		}
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
	}
	if len(seen) != 7 || pages != 3 {
		t.Fatalf("%d organisations over %d pages, want 7 over 3", len(seen), pages)
	}
	for _, q := range []string{"?limit=0", "?limit=-1", "?limit=abc", "?cursor=!!!", "?cursor=bm90LWFuLWlk"} {
		f.http.Do("GET", "/api/v1/organizations"+q, token, nil).ExpectProblem(t, 422)
	}
	var l struct{ Items []any }
	f.http.Do("GET", "/api/v1/organizations?limit=100000", token, nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 7 {
		t.Fatalf("limit over 500 should be capped, not refused; got %d items", len(l.Items))
	}
}

func TestCreateOrganizationValidation(t *testing.T) {
	f := newFixture(t)
	token := f.login("admin")
	r := f.http.Do("POST", "/api/v1/organizations", token, map[string]any{"kind": "space", "name": "  Espace Cayenne ", "timezone": "America/Cayenne", "address": "Cayenne"}).Expect(t, 201)
	o := r.Map(t)
	if o["name"] != "Espace Cayenne" || o["timezone"] != "America/Cayenne" || o["active"] != true {
		t.Fatalf("organisation %v", o)
	}
	if r.Header.Get("Location") != fmt.Sprintf("/api/v1/organizations/%v", o["id"]) {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	def := f.http.Do("POST", "/api/v1/organizations", token, map[string]any{"kind": "donor", "name": "D"}).Expect(t, 201).Map(t)
	if def["timezone"] != "Europe/Paris" {
		t.Fatalf("default time zone %v", def["timezone"])
	}
	bad := []struct {
		body   any
		field  string
		status int
	}{
		{map[string]any{"kind": "space", "name": "X", "timezone": "Paris"}, "timezone", 422},
		{map[string]any{"kind": "space", "name": "X", "timezone": "Local"}, "timezone", 422},
		{map[string]any{"kind": "space", "name": "X", "timezone": "../../etc/passwd"}, "timezone", 422},
		{map[string]any{"kind": "space", "name": "X", "timezone": ""}, "timezone", 422},
		{map[string]any{"kind": "castle", "name": "X"}, "kind", 422},
		{map[string]any{"kind": "space", "name": "   "}, "name", 422},
		{map[string]any{"kind": "space", "name": strings.Repeat("é", 201)}, "name", 422},
		{map[string]any{"kind": "space", "name": "X", "address": strings.Repeat("a", 501)}, "address", 422},
		{`{"kind": "space", "name": 5}`, "", 400},
		{`{"kind": "space"`, "", 400},
	}
	for _, b := range bad {
		p := f.http.Do("POST", "/api/v1/organizations", token, b.body).ExpectProblem(t, b.status)
		if b.field != "" {
			errs, _ := p["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["field"] != b.field {
				t.Errorf("%v: errors %v, want one on %s", b.body, p["errors"], b.field)
			}
		}
	}
	var n int64
	f.db.Table("organizations").Count(&n)
	if n != 9 {
		t.Fatalf("%d organisations after refused requests, want 9", n)
	}
}

func TestUpdateOrganization(t *testing.T) {
	f := newFixture(t)
	token := f.login("admin")
	id := f.orgs["space"].ID
	o := f.http.Do("PATCH", path("/api/v1/organizations/%d", id), token, map[string]any{"timezone": "America/Guadeloupe", "name": "Espace Pointe-à-Pitre"}).Expect(t, 200).Map(t)
	if o["timezone"] != "America/Guadeloupe" || o["name"] != "Espace Pointe-à-Pitre" || o["kind"] != "space" {
		t.Fatalf("organisation %v", o)
	}
	f.http.Do("PATCH", path("/api/v1/organizations/%d", id), token, map[string]any{"timezone": "Nowhere/Land"}).ExpectProblem(t, 422)
	f.http.Do("PATCH", path("/api/v1/organizations/%d", id), token, map[string]any{"kind": "warehouse"}).ExpectProblem(t, 422)
	f.http.Do("PATCH", "/api/v1/organizations/424242", token, map[string]any{"name": "x"}).ExpectProblem(t, 404)
	got := f.http.Do("GET", path("/api/v1/organizations/%d", id), token, nil).Expect(t, 200).Map(t)
	if got["timezone"] != "America/Guadeloupe" {
		t.Fatalf("refused patches changed the organisation: %v", got)
	}
	var n int64
	f.db.Table("audit_log").Where("action = ? AND entity_id = ?", "organization.update", fmt.Sprint(id)).Count(&n)
	if n != 1 {
		t.Fatalf("%d organisation updates audited, want 1", n)
	}
}

func TestCreateUserValidation(t *testing.T) {
	f := newFixture(t)
	token := f.login("admin")
	o := func(k string) int64 { return f.orgs[k].ID }
	ok := f.http.Do("POST", "/api/v1/users", token, map[string]any{"email": "Nouvelle@Example.org", "name": "Léa", "password": "0123456789",
		"role": "prescriber", "organization_id": o("prescriber")}).Expect(t, 201).Map(t)
	if ok["email"] != "nouvelle@example.org" || ok["role"] != "prescriber" {
		t.Fatalf("user %v", ok)
	}
	if strings.Contains(fmt.Sprint(ok), "argon2") {
		t.Fatal("password hash in the answer")
	}
	f.http.Do("POST", "/api/v1/users", token, map[string]any{"email": "second-admin@example.org", "name": "A", "password": "0123456789", "role": "admin"}).Expect(t, 201)

	cases := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"space role at a warehouse", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "space", "organization_id": o("warehouse")}, 422, "role"},
		{"warehouse role at a space", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "warehouse", "organization_id": o("space")}, 422, "role"},
		{"prescriber at a donor", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "prescriber", "organization_id": o("donor")}, 422, "role"},
		{"admin in an organisation", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "admin", "organization_id": o("space")}, 422, "organization_id"},
		{"space without organisation", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "space"}, 422, "organization_id"},
		{"unknown organisation", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "space", "organization_id": 987654}, 422, "organization_id"},
		{"weak password", map[string]any{"email": "a@example.org", "name": "A", "password": "123456789", "role": "space", "organization_id": o("space")}, 422, "password"},
		{"unknown role", map[string]any{"email": "a@example.org", "name": "A", "password": "0123456789", "role": "root", "organization_id": o("space")}, 422, "role"},
		{"bad email", map[string]any{"email": "not-an-email", "name": "A", "password": "0123456789", "role": "space", "organization_id": o("space")}, 422, "email"},
		{"email with display name", map[string]any{"email": "A <a@example.org>", "name": "A", "password": "0123456789", "role": "space", "organization_id": o("space")}, 422, "email"},
		{"duplicate email", map[string]any{"email": "SPACE@example.org", "name": "A", "password": "0123456789", "role": "space", "organization_id": o("space")}, 409, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.http.Do("POST", "/api/v1/users", token, c.body).ExpectProblem(t, c.status)
			if c.field == "" {
				return
			}
			found := false
			for _, e := range p["errors"].([]any) {
				if e.(map[string]any)["field"] == c.field {
					found = true
				}
			}
			if !found {
				t.Fatalf("no error on %s: %v", c.field, p["errors"])
			}
		})
	}
	var n int64
	f.db.Table("users").Where("email = ?", "a@example.org").Count(&n)
	if n != 0 {
		t.Fatal("a refused user was created")
	}
}

func TestUserListIsScoped(t *testing.T) {
	f := newFixture(t)
	var l struct {
		Items []struct {
			Email          string `json:"email"`
			OrganizationID *int64 `json:"organization_id"`
		} `json:"items"`
	}
	f.http.Do("GET", "/api/v1/users", f.login("space"), nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("space staff see %d users, want their 2 colleagues and themselves", len(l.Items))
	}
	for _, u := range l.Items {
		if u.OrganizationID == nil || *u.OrganizationID != f.orgs["space"].ID {
			t.Fatalf("space staff see %s from another organisation", u.Email)
		}
	}
	f.http.Do("GET", path("/api/v1/users?organization_id=%d", f.orgs["prescriber"].ID), f.login("space"), nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("filtering on another organisation leaks %d users", len(l.Items))
	}
	f.http.Do("GET", "/api/v1/users?role=space", f.login("admin"), nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("role=space gives %d users", len(l.Items))
	}
	f.http.Do("GET", "/api/v1/users?organization_id=x", f.login("admin"), nil).ExpectProblem(t, 422)
	f.http.Do("GET", "/api/v1/users?role=root", f.login("admin"), nil).ExpectProblem(t, 422)
}
