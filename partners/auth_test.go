package partners_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

func TestLoginMeLogout(t *testing.T) {
	f := newFixture(t)
	r := f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "  Space@Example.org ", "password": f.pw}).Expect(t, 200)
	m := r.Map(t)
	token, _ := m["token"].(string)
	if !strings.HasPrefix(token, "trp_") || len(token) < 40 {
		t.Fatalf("token %q", token)
	}
	user := m["user"].(map[string]any)
	if user["email"] != "space@example.org" || user["role"] != "space" {
		t.Fatalf("user %v", user)
	}
	if _, leaked := user["password_hash"]; leaked || strings.Contains(string(r.Body), "argon2") {
		t.Fatalf("login answer leaks the password hash: %s", r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("login answer may be cached: %q", r.Header.Get("Cache-Control"))
	}

	me := f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200).Map(t)
	if me["email"] != "space@example.org" || me["organization"].(map[string]any)["name"] != "Espace Belleville" {
		t.Fatalf("me %v", me)
	}

	// The token is stored hashed: the secret itself is nowhere in the database.
	var n int64
	f.db.Table("auth_tokens").Where("token_hash = ?", token).Count(&n)
	if n != 0 {
		t.Fatal("token stored in clear")
	}

	f.http.Do("POST", "/api/v1/auth/logout", token, nil).Expect(t, 204)
	p := f.http.Do("GET", "/api/v1/me", token, nil).ExpectProblem(t, 401)
	if !strings.Contains(p["detail"].(string), "revoked") {
		t.Errorf("detail %q does not say the token was revoked", p["detail"])
	}
	// Another token of the same user is unaffected by that logout.
	other := f.login("space")
	f.http.Do("GET", "/api/v1/me", other, nil).Expect(t, 200)
}

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		body   any
		status int
	}{
		{"wrong password", map[string]string{"email": "space@example.org", "password": "not the password"}, 401},
		{"unknown email", map[string]string{"email": "nobody@example.org", "password": f.pw}, 401},
		{"missing password", map[string]string{"email": "space@example.org"}, 422},
		{"missing both", map[string]string{}, 422},
		{"malformed JSON", `{"email": "space@example.org", "password":`, 400},
		{"wrong type", `{"email": 12, "password": "x"}`, 400},
		{"not an object", `["space@example.org"]`, 400},
		{"empty body", ``, 400},
		{"trailing data", `{"email":"a@b.c","password":"xxxxxxxxxx"} {}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.http.Do("POST", "/api/v1/auth/login", "", c.body).ExpectProblem(t, c.status)
			if c.status == 401 && p["detail"] != "email or password is incorrect" {
				t.Errorf("detail %q should not tell which of the two was wrong", p["detail"])
			}
		})
	}
}

func TestMissingAndBadTokens(t *testing.T) {
	f := newFixture(t)
	for name, header := range map[string]string{
		"none":       "",
		"not bearer": "Basic c3BhY2U6eA==",
		"unknown":    "Bearer trp_doesnotexist",
		"garbage":    "Bearer ' OR 1=1 --",
	} {
		t.Run(name, func(t *testing.T) {
			var r = f.http.Do("GET", "/api/v1/me", "", nil, "Authorization", header)
			r.ExpectProblem(t, 401)
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestExpiredToken(t *testing.T) {
	f := newFixture(t)
	token := f.login("prescriber")
	f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200)
	f.clock.Advance(time.Hour + time.Second)
	p := f.http.Do("GET", "/api/v1/me", token, nil).ExpectProblem(t, 401)
	if !strings.Contains(p["detail"].(string), "expired") {
		t.Errorf("detail %q does not say the token expired", p["detail"])
	}
}

func TestDeactivationRevokesAccess(t *testing.T) {
	f := newFixture(t)
	adminToken := f.login("admin")
	token := f.login("warehouse")
	id := f.users["warehouse"].ID
	u := f.http.Do("PATCH", path("/api/v1/users/%d", id), adminToken, map[string]any{"active": false}).Expect(t, 200).Map(t)
	if u["active"] != false {
		t.Fatalf("user still active: %v", u)
	}
	f.http.Do("GET", "/api/v1/me", token, nil).ExpectProblem(t, 401)
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "warehouse@example.org", "password": f.pw}).ExpectProblem(t, 401)

	// Reactivated, the user logs in again.
	f.http.Do("PATCH", path("/api/v1/users/%d", id), adminToken, map[string]any{"active": true}).Expect(t, 200)
	f.login("warehouse")

	// A deactivated organisation locks out its staff.
	f.http.Do("PATCH", path("/api/v1/organizations/%d", f.orgs["warehouse"].ID), adminToken, map[string]any{"active": false}).Expect(t, 200)
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "warehouse@example.org", "password": f.pw}).ExpectProblem(t, 401)
}

func TestAdminCannotLockOutTheNetwork(t *testing.T) {
	f := newFixture(t)
	adminToken := f.login("admin")
	p := f.http.Do("PATCH", path("/api/v1/users/%d", f.users["admin"].ID), adminToken, map[string]any{"active": false}).ExpectProblem(t, 409)
	if !strings.HasSuffix(p["type"].(string), "self-deactivation") {
		t.Errorf("type %v", p["type"])
	}
	f.http.Do("GET", "/api/v1/me", adminToken, nil).Expect(t, 200)
}

func TestPasswordChange(t *testing.T) {
	f := newFixture(t)
	token := f.login("space")
	other := f.login("space")
	id := f.users["space"].ID
	// Without the current password: refused.
	f.http.Do("PATCH", path("/api/v1/users/%d", id), token, map[string]any{"password": "a brand new password"}).ExpectProblem(t, 422)
	// Too short: refused.
	f.http.Do("PATCH", path("/api/v1/users/%d", id), token, map[string]any{"password": "short", "current_password": f.pw}).ExpectProblem(t, 422)
	f.http.Do("PATCH", path("/api/v1/users/%d", id), token,
		map[string]any{"password": "a brand new password", "current_password": f.pw}).Expect(t, 200)
	// The session that changed it stays; the other one is closed.
	f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200)
	f.http.Do("GET", "/api/v1/me", other, nil).ExpectProblem(t, 401)
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "space@example.org", "password": f.pw}).ExpectProblem(t, 401)
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "space@example.org", "password": "a brand new password"}).Expect(t, 200)
	// A user cannot deactivate themselves or change a colleague.
	f.http.Do("PATCH", path("/api/v1/users/%d", id), token, map[string]any{"active": false}).ExpectProblem(t, 403)
	f.http.Do("PATCH", path("/api/v1/users/%d", f.users["space-colleague"].ID), token, map[string]any{"name": "X"}).ExpectProblem(t, 403)
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	f := newFixture(t, partners.LoginLimits{Window: 15 * time.Minute, MaxPerUser: 3, MaxPerAddr: 100})
	bad := map[string]string{"email": "space@example.org", "password": "wrong wrong wrong"}
	for range 3 {
		f.http.Do("POST", "/api/v1/auth/login", "", bad).ExpectProblem(t, 401)
	}
	r := f.http.Do("POST", "/api/v1/auth/login", "", bad)
	r.ExpectProblem(t, 429)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Even the right password waits: the account is under attack.
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "space@example.org", "password": f.pw}).ExpectProblem(t, 429)
	// Other accounts are not affected.
	f.login("prescriber")
	// After the window, the account opens again.
	f.clock.Advance(16 * time.Minute)
	f.login("space")

	// Every failure is in the audit log, without the password.
	var rows []struct{ Action, Data string }
	f.db.Table("audit_log").Where("action = ?", "auth.login_failed").Find(&rows)
	if len(rows) < 3 {
		t.Fatalf("%d failed logins audited, want at least 3", len(rows))
	}
	for _, row := range rows {
		if strings.Contains(row.Data, "wrong wrong") {
			t.Fatalf("password in the audit log: %s", row.Data)
		}
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	f := newFixture(t, partners.LoginLimits{Window: 15 * time.Minute, MaxPerUser: 100, MaxPerAddr: 4})
	for i := range 4 {
		f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": path("guess%d@example.org", i), "password": "xxxxxxxxxxxx"}).ExpectProblem(t, 401)
	}
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "space@example.org", "password": f.pw}).ExpectProblem(t, 429)
}

func TestConcurrentLogins(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "space@example.org", "password": f.pw})
			if r.Status != 200 {
				errs <- string(r.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	f := newFixture(t)
	f.login("space")
	ctx := context.Background()
	if err := f.db.WithContext(ctx).Exec("UPDATE audit_log SET action = 'x'").Error; err == nil {
		t.Fatal("audit_log accepted an UPDATE")
	}
	if err := f.db.WithContext(ctx).Exec("DELETE FROM audit_log").Error; err == nil {
		t.Fatal("audit_log accepted a DELETE")
	}
	var n int64
	f.db.Table("audit_log").Where("action = ?", "auth.login").Count(&n)
	if n == 0 {
		t.Fatal("login not audited")
	}
}

// TestAuthenticationsRemembered: a token answered a moment ago is not
// looked up again, and what revokes it (a deactivated organisation, a
// logout written in SQL by this process) counts at once, not a second later.
func TestAuthenticationsRemembered(t *testing.T) {
	f := newFixture(t)
	adminToken := f.login("admin")
	token := f.login("warehouse")
	time.Sleep(2100 * time.Millisecond) // past the quiet moment after any write of the fixture's
	count := testenv.CountStatements(t, f.db.DB)
	first := count.During(func() { f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200) })
	again := count.During(func() { f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200) })
	if again != first-1 {
		t.Errorf("GET /me sent %d statements, then %d: the token was looked up again", first, again)
	}

	f.http.Do("PATCH", path("/api/v1/organizations/%d", f.orgs["warehouse"].ID), adminToken, map[string]any{"active": false}).Expect(t, 200)
	f.http.Do("GET", "/api/v1/me", token, nil).ExpectProblem(t, 401)
	f.http.Do("PATCH", path("/api/v1/organizations/%d", f.orgs["warehouse"].ID), adminToken, map[string]any{"active": true}).Expect(t, 200)

	// Remembered again (after the quiet moment that follows a change),
	// then revoked behind the service's back, in SQL.
	time.Sleep(2100 * time.Millisecond)
	f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200)
	if n := count.During(func() { f.http.Do("GET", "/api/v1/me", token, nil).Expect(t, 200) }); n != first-1 {
		t.Fatalf("not remembered: %d statements", n)
	}
	if err := f.db.Exec(`UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ?`, database.Now(), f.users["warehouse"].ID).Error; err != nil {
		t.Fatal(err)
	}
	f.http.Do("GET", "/api/v1/me", token, nil).ExpectProblem(t, 401)

	// An expired token is not kept alive by the memory of it.
	other := f.login("space")
	f.http.Do("GET", "/api/v1/me", other, nil).Expect(t, 200)
	f.clock.Advance(13 * time.Hour)
	f.http.Do("GET", "/api/v1/me", other, nil).ExpectProblem(t, 401)
}
