package partners_test

// Tests for the holes the second attack found (issue 25): each failed
// before its fix.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// TestConcurrentGuessesMeetTheLimits: 100 wrong passwords for one account
// released together, through two services on one database (two processes'
// worth), are checked at most the account's limit of times; 200 logins of
// unknown emails from one address at most the address's limit. Every other
// answer is a 429 or a 503, never a 500. Before, 76-86 of the 100 were
// checked against a limit of 5.
func TestConcurrentGuessesMeetTheLimits(t *testing.T) {
	f := newFixture(t)
	hasher, err := partners.NewHasher(64)
	if err != nil {
		t.Fatal(err)
	}
	other := partners.NewService(partners.Config{DB: f.db, Hasher: hasher, TokenTTL: time.Hour, SessionTTL: time.Hour,
		Limits: partners.LoginLimits{Window: 15 * time.Minute, MaxPerUser: 5, MaxPerAddr: 20}, Now: f.clock.Now})
	f.clock.Advance(time.Second)

	burst := func(n int, email func(i int) string) map[string]int {
		var mu sync.Mutex
		outcomes := map[string]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				var outcome string
				if i%2 == 0 {
					r := f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": email(i), "password": "wrong wrong wrong"})
					outcome = fmt.Sprint(r.Status)
				} else {
					_, err := other.Login(context.Background(), partners.Credentials{Email: email(i), Password: "wrong wrong wrong"},
						partners.TokenBearer, partners.Client{IP: "127.0.0.1"})
					switch {
					case errors.Is(err, apperr.ErrUnauthenticated):
						outcome = "401"
					case errors.Is(err, apperr.ErrRateLimited):
						outcome = "429"
					case errors.Is(err, apperr.ErrUnavailable):
						outcome = "503"
					default:
						outcome = fmt.Sprint(err)
					}
				}
				mu.Lock()
				outcomes[outcome]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return outcomes
	}
	checked := func(where string, args ...any) int64 {
		var n int64
		f.db.Table("login_attempts").Where(where, args...).Count(&n)
		return n
	}

	outcomes := burst(100, func(int) string { return "space@example.org" })
	if n := checked("email = ?", "space@example.org"); n > 5 || int64(outcomes["401"]) != n {
		t.Fatalf("100 concurrent guesses: %d checked (limit 5), answers %v", n, outcomes)
	}
	if outcomes["401"]+outcomes["429"]+outcomes["503"] != 100 {
		t.Fatalf("answers %v", outcomes)
	}

	f.clock.Advance(16 * time.Minute) // a new window for the address
	since := f.clock.Now()
	outcomes = burst(200, func(i int) string { return fmt.Sprintf("nobody%d@example.org", i) })
	if n := checked("ip = ? AND at >= ?", "127.0.0.1", since); n > 20 {
		t.Fatalf("200 unknown emails from one address: %d checked (limit 20), answers %v", n, outcomes)
	}
	if outcomes["401"] > 20 || outcomes["401"]+outcomes["429"]+outcomes["503"] != 200 {
		t.Fatalf("answers %v", outcomes)
	}
	// The account's own login still works once the window has passed.
	f.clock.Advance(16 * time.Minute)
	f.login("space")
}

// TestObviousPasswordsAreRefused: one character repeated, the account's
// email or name, a common password: 422 naming the field, at creation and
// at a change. Before, "aaaaaaaaaa" was accepted.
func TestObviousPasswordsAreRefused(t *testing.T) {
	f := newFixture(t)
	adminToken := f.login("admin")
	for _, pw := range []string{"aaaaaaaaaa", "AZERTYUIOP", "nina.dubois@example.org", "Nina Dubois", "ninadubois", "1234567890"} {
		r := f.http.Do("POST", "/api/v1/users", adminToken, map[string]any{"email": "nina.dubois@example.org", "name": "Nina Dubois",
			"password": pw, "role": "admin"})
		p := r.ExpectProblem(t, 422)
		if !strings.Contains(fmt.Sprint(p["errors"]), "password") {
			t.Errorf("password %q: %v", pw, p["errors"])
		}
	}
	f.http.Do("POST", "/api/v1/users", adminToken, map[string]any{"email": "nina.dubois@example.org", "name": "Nina Dubois",
		"password": "trois mots simples", "role": "admin"}).Expect(t, 201)
	token := f.login("space")
	id := f.users["space"].ID
	f.http.Do("PATCH", path("/api/v1/users/%d", id), token, map[string]any{"password": "zzzzzzzzzzzz", "current_password": f.pw}).ExpectProblem(t, 422)
	f.http.Do("PATCH", path("/api/v1/users/%d", id), token, map[string]any{"password": "space@example.org", "current_password": f.pw}).ExpectProblem(t, 422)
}
