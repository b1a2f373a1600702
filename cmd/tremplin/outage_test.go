package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/config"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestDatabaseOutage stops PostgreSQL under load: requests answer 503
// problem+json while it is down, /readyz says so, the same process serves
// again within 5 s of its return, and no goroutine is left behind.
func TestDatabaseOutage(t *testing.T) {
	pg := testenv.StartPrivatePostgres(t)
	ctx := context.Background()
	target, _ := database.Resolve(pg.URL, "")
	db, err := database.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Load(lookupIn(map[string]string{"TREMPLIN_ARGON2_MEMORY_KIB": "64"}))
	keys, _ := secrets.NewKeyring(make([]byte, 32))
	svc, err := newServices(cfg, db, keys)
	if err != nil {
		t.Fatal(err)
	}
	_, handler, err := newRouter(cfg, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpx.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	h := testenv.NewHTTP(t, handler)
	if _, err := svc.partners.CreateAdmin(ctx, "admin@example.org", "0123456789", ""); err != nil {
		t.Fatal(err)
	}
	token := login(t, h.URL, "admin@example.org", "0123456789")
	cookie := webLogin(t, h, "admin@example.org", "0123456789")
	baseline := runtime.NumGoroutine()

	var stop atomic.Bool
	var mu sync.Mutex
	statuses := map[int]int{}
	var wrong []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r := h.Do("GET", "/api/v1/organizations", token, nil)
				mu.Lock()
				statuses[r.Status]++
				if r.Status != 200 && (r.Status != 503 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json")) {
					wrong = append(wrong, string(r.Body))
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	pg.Stop()
	// While it is down: 503s, and /readyz tells the truth.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && h.Do("GET", "/readyz", "", nil).Status != 503 {
		time.Sleep(50 * time.Millisecond)
	}
	h.Do("GET", "/readyz", "", nil).ExpectProblem(t, 503)
	h.Do("GET", "/healthz", "", nil).Expect(t, 200)
	// Pages say so in French, with 503 (before: a 500 "erreur de notre côté").
	for _, p := range []struct{ method, path string }{{"GET", "/"}, {"GET", "/bons"}, {"POST", "/login"}} {
		status, ct, body := page(t, h, p.method, p.path, cookie)
		if status != 503 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "indisponible") {
			t.Errorf("%s %s while the database is down: %d %s %.300s", p.method, p.path, status, ct, body)
		}
	}
	// Let the load meet the outage (each exchange is also checked against
	// openapi.json, slower under -race): wait for its first 503.
	seen := time.Now().Add(10 * time.Second)
	for time.Now().Before(seen) {
		mu.Lock()
		n := statuses[503]
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	pg.Start()
	back := time.Now()
	for h.Do("GET", "/api/v1/organizations", token, nil).Status != 200 {
		if time.Since(back) > 5*time.Second {
			t.Fatal("still failing 5 s after the database came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("serving again %s after the database came back", time.Since(back).Round(time.Millisecond))
	h.Do("GET", "/readyz", "", nil).Expect(t, 200)
	stop.Store(true)
	wg.Wait()
	if statuses[503] == 0 {
		t.Errorf("no 503 seen during the outage: %v", statuses)
	}
	for _, w := range wrong {
		t.Errorf("during the outage: %s", w)
	}
	// Goroutines settle back (idle connections and keep-alives close).
	h.Client.CloseIdleConnections()
	settle := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+5 && time.Now().Before(settle) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+5 {
		t.Fatalf("%d goroutines after the outage, %d before", n, baseline)
	}
}

// webLogin logs in through the login form and returns the session cookie.
func webLogin(t *testing.T, h *testenv.HTTP, email, password string) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest("POST", h.URL+"/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "tremplin_session" {
			return c
		}
	}
	t.Fatalf("no session cookie after the login form: %d", resp.StatusCode)
	return nil
}

// page requests a web page with a session cookie (a POST sends a login form).
func page(t *testing.T, h *testenv.HTTP, method, path string, cookie *http.Cookie) (int, string, string) {
	t.Helper()
	var form url.Values
	if method == "POST" {
		form = url.Values{"email": {"admin@example.org"}, "password": {"0123456789"}}
	}
	return exchange(t, h, method, path, form, cookie)
}

// submit posts a form with a session cookie and returns the status and the
// page's text (HTML entities decoded).
func submit(t *testing.T, h *testenv.HTTP, path string, form url.Values, cookie *http.Cookie) (int, string) {
	t.Helper()
	status, _, body := exchange(t, h, "POST", path, form, cookie)
	return status, html.UnescapeString(body)
}

func exchange(t *testing.T, h *testenv.HTTP, method, path string, form url.Values, cookie *http.Cookie) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, h.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(cookie)
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
