package partners_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func postForm(t *testing.T, f *fixture, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", f.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := f.http.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, f *fixture, path string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.http.URL+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := f.http.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestWebLoginSession(t *testing.T) {
	f := newFixture(t)
	resp, _ := get(t, f, "/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous home: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := get(t, f, "/login")
	if resp.StatusCode != 200 || !strings.Contains(page, `name="password"`) || !strings.Contains(page, "Connexion") {
		t.Fatalf("login page %d:\n%s", resp.StatusCode, page)
	}

	resp = postForm(t, f, "/login", url.Values{"email": {"prescriber@example.org"}, "password": {"wrong password!"}})
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("bad password: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}

	resp = postForm(t, f, "/login", url.Values{"email": {"prescriber@example.org"}, "password": {f.pw}, "next": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q (an off-site next must not be followed)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "tremplin_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", session)
	}
	resp, page = get(t, f, "/", session)
	if resp.StatusCode != 200 || !strings.Contains(page, "Bonjour User prescriber") || !strings.Contains(page, "CCAS") {
		t.Fatalf("home %d:\n%s", resp.StatusCode, page)
	}
	// The session is not an API token.
	f.http.Do("GET", "/api/v1/me", session.Value, nil).ExpectProblem(t, 401)

	resp = postForm(t, f, "/logout", nil, session)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout %d", resp.StatusCode)
	}
	resp, _ = get(t, f, "/", session)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("home after logout: %d, want a redirect to the login page", resp.StatusCode)
	}
}

func TestWebLoginKeepsNext(t *testing.T) {
	f := newFixture(t)
	resp, page := get(t, f, "/login?next=/reports")
	if resp.StatusCode != 200 || !strings.Contains(page, `value="/reports"`) {
		t.Fatalf("next not kept in the form: %s", page)
	}
}
