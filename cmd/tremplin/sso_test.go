package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/tremplin/tremplin/internal/testenv"
)

// browserClient keeps cookies and speaks French; redirects are followed
// unless stop says where to stop.
func browserClient(stop func(*url.URL) bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if stop != nil && stop(req.URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func getPage(t *testing.T, c *http.Client, u string) (int, string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// TestSingleSignOn runs the authorization code flow against a local
// OpenID Connect provider: a verified email that matches an account logs
// it in; an unknown one is refused with a clear page and nothing is
// created; a wrong state, a wrong nonce and an expired ID token are
// refused; the password keeps working beside it.
func TestSingleSignOn(t *testing.T) {
	op := testenv.OIDC(t)
	env := testEnv(t)
	env["TREMPLIN_OIDC_ISSUER"] = op.Issuer()
	env["TREMPLIN_OIDC_CLIENT_ID"] = op.ClientID
	env["TREMPLIN_OIDC_CLIENT_SECRET"] = op.ClientSecret
	if code, out, errOut := runCmd(t, env, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s%s", out, errOut)
	}
	if code, out, errOut := runCmd(t, env, "admin", "create", "--email", "Claire.Martin@ccas.example.fr", "--password", "un mot de passe long", "--name", "Claire Martin"); code != 0 {
		t.Fatalf("admin create: %s%s", out, errOut)
	}
	srv := startServe(t, env)
	db := testenv.Open(t, env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
	users := func() int64 {
		var n int64
		db.Raw(`SELECT COUNT(*) FROM users`).Scan(&n)
		return n
	}

	// The login page offers it.
	_, body, _ := getPage(t, browserClient(nil), srv.URL+"/login")
	if !strings.Contains(body, "Se connecter avec ProConnect") || !strings.Contains(body, `href="/login/oidc"`) {
		t.Fatalf("the login page does not offer ProConnect:\n%s", body)
	}

	// A verified email that matches an account (whatever its case).
	op.QueueUser(&mockoidc.MockUser{Subject: "agent-1", Email: "claire.martin@ccas.example.fr", EmailVerified: true})
	c := browserClient(nil)
	status, body, resp := getPage(t, c, srv.URL+"/login/oidc")
	if status != 200 || resp.Request.URL.Path == "/login" || !strings.Contains(body, "Claire Martin") {
		t.Fatalf("a matching email lands on %s (%d):\n%s", resp.Request.URL, status, body)
	}
	if status, _, _ := getPage(t, c, srv.URL+"/admin/utilisateurs"); status != 200 {
		t.Fatalf("the signed-in admin's pages: %d", status)
	}

	// An unknown email: a clear page, nothing created.
	before := users()
	op.QueueUser(&mockoidc.MockUser{Subject: "agent-2", Email: "inconnu@francetravail.example.fr", EmailVerified: true})
	status, body, _ = getPage(t, browserClient(nil), srv.URL+"/login/oidc")
	if status != 403 || !strings.Contains(body, "inconnu@francetravail.example.fr") || !strings.Contains(body, "aucun compte Tremplin actif") ||
		!strings.Contains(body, "rien n&#39;a été créé") {
		t.Fatalf("an unknown email: %d\n%s", status, body)
	}
	if users() != before {
		t.Fatalf("an unknown email created an account")
	}

	// An email the provider says is not verified.
	op.QueueUser(unverified{&mockoidc.MockUser{Subject: "agent-3", Email: "claire.martin@ccas.example.fr"}})
	if status, _, _ := getPage(t, browserClient(nil), srv.URL+"/login/oidc"); status != 400 {
		t.Fatalf("an unverified email: %d", status)
	}

	// A wrong state: the provider's answer is brought back with another.
	stopAtCallback := func(u *url.URL) bool { return u.Path == "/login/oidc/callback" }
	c = browserClient(stopAtCallback)
	op.QueueUser(&mockoidc.MockUser{Subject: "agent-1", Email: "claire.martin@ccas.example.fr", EmailVerified: true})
	_, _, resp = getPage(t, c, srv.URL+"/login/oidc")
	back, _ := url.Parse(resp.Header.Get("Location"))
	q := back.Query()
	q.Set("state", "autre-etat")
	back.RawQuery = q.Encode()
	if status, body, _ := getPage(t, c, back.String()); status != 400 || !strings.Contains(body, "n&#39;a pas abouti") {
		t.Fatalf("a wrong state: %d\n%s", status, body)
	}

	// A wrong nonce: the provider is asked with another one than the
	// browser keeps.
	c = browserClient(func(u *url.URL) bool { return strings.Contains(u.Path, "/authorize") || stopAtCallback(u) })
	_, _, resp = getPage(t, c, srv.URL+"/login/oidc")
	auth, _ := url.Parse(resp.Header.Get("Location"))
	q = auth.Query()
	q.Set("nonce", "un-autre-nonce")
	auth.RawQuery = q.Encode()
	op.QueueUser(&mockoidc.MockUser{Subject: "agent-1", Email: "claire.martin@ccas.example.fr", EmailVerified: true})
	_, _, resp = getPage(t, c, auth.String())
	if status, _, _ := getPage(t, c, resp.Header.Get("Location")); status != 400 {
		t.Fatalf("a wrong nonce: %d", status)
	}

	// An expired ID token: the provider's clock two hours behind.
	op.FastForward(-2 * time.Hour)
	op.QueueUser(&mockoidc.MockUser{Subject: "agent-1", Email: "claire.martin@ccas.example.fr", EmailVerified: true})
	status, _, _ = getPage(t, browserClient(nil), srv.URL+"/login/oidc")
	op.FastForward(2 * time.Hour)
	if status != 400 {
		t.Fatalf("an expired ID token: %d", status)
	}

	// The password keeps working beside it.
	login(t, srv.URL, "claire.martin@ccas.example.fr", "un mot de passe long")
}

// unverified is a user whose ID token says email_verified: false (the
// stand-in's own users leave a false out).
type unverified struct{ *mockoidc.MockUser }

func (u unverified) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return struct {
		*mockoidc.IDTokenClaims
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}{base, u.Email, false}, nil
}

// TestSingleSignOnNeedsItsThreeSettings: half a setting stops serve with
// what to set, rather than a button that cannot work.
func TestSingleSignOnNeedsItsThreeSettings(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_OIDC_ISSUER"] = "https://auth.agentconnect.gouv.fr/api/v2"
	code, _, errOut := runCmd(t, env, "serve", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "TREMPLIN_OIDC_CLIENT_ID") {
		t.Fatalf("serve with an issuer alone: %d %s", code, errOut)
	}
}

// TestSingleSignOnProviderDown: a provider that does not answer does not
// stop Tremplin from serving; its button leads to a page that says so
// (503), and the password still works.
func TestSingleSignOnProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/oidc"
	ln.Close() // nothing listens there now
	env := testEnv(t)
	env["TREMPLIN_OIDC_ISSUER"] = down
	env["TREMPLIN_OIDC_CLIENT_ID"] = "tremplin"
	env["TREMPLIN_OIDC_CLIENT_SECRET"] = "secret"
	if code, out, errOut := runCmd(t, env, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s%s", out, errOut)
	}
	if code, out, errOut := runCmd(t, env, "admin", "create", "--email", "admin@example.org", "--password", "0123456789"); code != 0 {
		t.Fatalf("admin create: %s%s", out, errOut)
	}
	srv := startServe(t, env)
	status, body, resp := getPage(t, browserClient(nil), srv.URL+"/login/oidc")
	if status != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "ProConnect ne répond pas") {
		t.Fatalf("the provider down: %d %q\n%s", status, resp.Header.Get("Retry-After"), body)
	}
	login(t, srv.URL, "admin@example.org", "0123456789")
}
