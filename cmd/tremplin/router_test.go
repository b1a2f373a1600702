package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/apispec"
	"github.com/tremplin/tremplin/internal/config"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

func newTestRouter(t *testing.T) (*testenv.HTTP, *app, func() []string) {
	t.Helper()
	return newTestRouterEnv(t, nil)
}

// newTestRouterEnv is newTestRouter with more settings.
func newTestRouterEnv(t *testing.T, env map[string]string) (*testenv.HTTP, *app, func() []string) {
	t.Helper()
	settings := map[string]string{"TREMPLIN_ARGON2_MEMORY_KIB": "64"}
	for k, v := range env {
		settings[k] = v
	}
	cfg, err := config.Load(lookupIn(settings))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := secrets.NewKeyring(make([]byte, 32))
	svc, err := newServices(cfg, testenv.DB(t), keys)
	if err != nil {
		t.Fatal(err)
	}
	e, h, err := newRouter(cfg, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpx.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	routes := func() []string {
		var out []string
		for _, r := range e.Routes() {
			out = append(out, r.Method+" "+r.Path)
		}
		return out
	}
	return testenv.NewHTTP(t, h), svc, routes
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestOpenAPIDescribesEveryRoute fails when a registered API route is missing
// from openapi.json, or when the document describes a route that does not exist.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	_, _, routes := newTestRouter(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(apispec.JSON, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, r := range routes() {
		method, path, _ := strings.Cut(r, " ")
		if !apiRoute(path) || method == "HEAD" {
			continue
		}
		path = ginParam.ReplaceAllString(path, "{$1}")
		registered[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s %s is not in internal/apispec/openapi.json", method, path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !registered[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which the router does not serve", strings.ToUpper(method), path)
			}
		}
	}
}

func TestOperationsEndpoints(t *testing.T) {
	h, _, _ := newTestRouter(t)
	h.Do("GET", "/healthz", "", nil).Expect(t, 200)
	ready := h.Do("GET", "/readyz", "", nil).Expect(t, 200).Map(t)
	if ready["database"] != string(testenv.Engine()) {
		t.Fatalf("readyz %v", ready)
	}
	h.Do("GET", "/api/v1/me", "", nil).ExpectProblem(t, 401)
	metrics := string(h.Do("GET", "/metrics", "", nil).Expect(t, 200).Body)
	for _, want := range []string{
		`tremplin_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`tremplin_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1`,
		`tremplin_http_request_duration_seconds_bucket{method="GET",route="/readyz"`,
		`go_goroutines`,
		`tremplin_low_stock 0`,
		`tremplin_stock_scrape_error 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	spec := h.Do("GET", "/api/openapi.json", "", nil).Expect(t, 200)
	if !strings.HasPrefix(spec.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi content type %q", spec.Header.Get("Content-Type"))
	}
	h.Do("GET", "/api/v1/nothing-here", "", nil).ExpectProblem(t, 404)
	// Outside /api/, a person gets a French page, not JSON.
	if r := h.Do("GET", "/nothing-here", "", nil); r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.Body), "Introuvable") {
		t.Fatalf("unknown page: %d %s %.200s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	h.Do("GET", "/static/style.css", "", nil).Expect(t, 200)
}

func TestReadyzTellsWhenTheDatabaseIsGone(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	h.Do("GET", "/readyz", "", nil).Expect(t, 200)
	if err := svc.db.Close(); err != nil {
		t.Fatal(err)
	}
	h.Do("GET", "/readyz", "", nil).ExpectProblem(t, 503)
	h.Do("GET", "/healthz", "", nil).Expect(t, 200)
}

// TestCrossSiteFormPostRefused: a login form posted from another site is
// refused; the same form from Tremplin's own pages goes through.
func TestCrossSiteFormPostRefused(t *testing.T) {
	h, _, _ := newTestRouter(t)
	post := func(headers map[string]string) int {
		req, _ := http.NewRequest("POST", h.URL+"/login", strings.NewReader(url.Values{"email": {"x@example.org"}, "password": {"0123456789"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := h.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(map[string]string{"Sec-Fetch-Site": "cross-site"}); got != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", got)
	}
	if got := post(map[string]string{"Origin": "https://evil.example"}); got != http.StatusForbidden {
		t.Errorf("foreign Origin: %d, want 403", got)
	}
	if got := post(map[string]string{"Sec-Fetch-Site": "same-origin"}); got != http.StatusUnauthorized {
		t.Errorf("same-origin post with a wrong password: %d, want 401", got)
	}
}

// TestVoucherPagesAreScoped: another organisation's voucher page is a 404
// page, and roles without vouchers get a 403 page.
func TestVoucherPagesAreScoped(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	var orgs []partners.Organization
	for _, o := range []partners.NewOrganization{{Kind: partners.KindPrescriber, Name: "CCAS"}, {Kind: partners.KindPrescriber, Name: "Mission locale"}, {Kind: partners.KindWarehouse, Name: "Entrepôt"}} {
		org, err := svc.partners.CreateOrganization(ctx, admin, o)
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, org)
	}
	roles := []partners.Role{partners.RolePrescriber, partners.RolePrescriber, partners.RoleWarehouse}
	cookies := make([]*http.Cookie, 3)
	for i, org := range orgs {
		email := fmt.Sprintf("u%d@example.org", i)
		if _, err := svc.partners.CreateUser(ctx, admin, partners.NewUser{Email: email, Name: "U", Password: "0123456789", Role: roles[i], OrganizationID: &org.ID}); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", h.URL+"/login", strings.NewReader(url.Values{"email": {email}, "password": {"0123456789"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := h.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies[i] = resp.Cookies()[0]
	}
	page := func(i int, path string) (int, string) {
		req, _ := http.NewRequest("GET", h.URL+path, nil)
		req.AddCookie(cookies[i])
		resp, err := h.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	b, err := svc.distribution.CreateBeneficiary(ctx, partners.Caller{Role: partners.RolePrescriber, OrganizationID: orgs[0].ID, OrganizationKind: partners.KindPrescriber},
		distribution.NewBeneficiary{FirstName: "Jean", LastName: "Secret"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.distribution.IssueVoucher(ctx, partners.Caller{Role: partners.RolePrescriber, OrganizationID: orgs[0].ID, OrganizationKind: partners.KindPrescriber},
		distribution.NewVoucher{BeneficiaryID: b.ID, Recharges: 1, ValidDays: 10})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := page(0, "/bons/"+v.Code); code != 200 || !strings.Contains(body, v.Code) {
		t.Fatalf("own voucher page: %d", code)
	}
	if code, body := page(1, "/bons/"+v.Code); code != 404 || strings.Contains(body, "Jean") {
		t.Fatalf("another organisation's voucher page: %d", code)
	}
	if code, _ := page(1, "/bons/"+v.Code+"/bon.pdf"); code != 404 {
		t.Fatalf("another organisation's voucher PDF: %d", code)
	}
	if code, _ := page(2, "/bons"); code != 403 {
		t.Fatalf("warehouse on /bons: %d", code)
	}
	if code, body := page(0, "/bons"); code != 200 || !strings.Contains(body, v.Code) {
		t.Fatalf("voucher list: %d", code)
	}
}

// TestVoucherListPages: the list of vouchers goes page by page (50 a page)
// instead of stopping silently at 200; an admin is not offered "Nouveau
// bon" (a voucher needs a prescriber's organisation).
func TestVoucherListPages(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	org, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindPrescriber, Name: "CCAS"})
	if err != nil {
		t.Fatal(err)
	}
	presc := partners.Caller{Role: partners.RolePrescriber, OrganizationID: org.ID, OrganizationKind: partners.KindPrescriber}
	b, err := svc.distribution.CreateBeneficiary(ctx, presc, distribution.NewBeneficiary{FirstName: "Jean", LastName: "Dupont"})
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if _, err := svc.distribution.IssueVoucher(ctx, presc, distribution.NewVoucher{BeneficiaryID: b.ID, Recharges: 1, ValidDays: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.partners.CreateUser(ctx, admin, partners.NewUser{Email: "p@example.org", Name: "P", Password: "0123456789", Role: partners.RolePrescriber, OrganizationID: &org.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.partners.CreateUser(ctx, admin, partners.NewUser{Email: "a@example.org", Name: "A", Password: "0123456789", Role: partners.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`href="/bons/[A-Z0-9-]{14}"`)
	next := regexp.MustCompile(`id="next-page" href="([^"]+)"`)
	cookie := webLogin(t, h, "p@example.org", "0123456789")
	status, _, first := page(t, h, "GET", "/bons", cookie)
	m := next.FindStringSubmatch(first)
	if status != 200 || len(rows.FindAllString(first, -1)) != 50 || m == nil {
		t.Fatalf("first page: %d, %d rows, next %v", status, len(rows.FindAllString(first, -1)), m)
	}
	_, _, second := page(t, h, "GET", strings.ReplaceAll(m[1], "&amp;", "&"), cookie)
	if len(rows.FindAllString(second, -1)) != 10 || next.MatchString(second) {
		t.Fatalf("second page: %d rows", len(rows.FindAllString(second, -1)))
	}
	adminCookie := webLogin(t, h, "a@example.org", "0123456789")
	for _, path := range []string{"/", "/bons"} {
		if _, _, body := page(t, h, "GET", path, adminCookie); strings.Contains(body, "/bons/nouveau") {
			t.Errorf("an admin is offered a new voucher on %s", path)
		}
	}
	if status, _, _ := page(t, h, "GET", "/bons/nouveau", adminCookie); status != 403 {
		t.Errorf("an admin on the new-voucher form: %d", status)
	}
}

// TestVoucherFormSaysErrorsInFrench: the services' validation messages reach
// the page in French (by their key and arguments), not "Prénom : is required".
func TestVoucherFormSaysErrorsInFrench(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	cookie := prescriberSession(t, h, svc)
	form := url.Values{"first_name": {""}, "last_name": {"Dupont"}, "birth_year": {"1850"}, "devices": {"1"}, "recharges": {"0"}, "valid_days": {"30"},
		"device_categories": {"smartphone"}}
	status, body := submit(t, h, "/bons", form, cookie)
	if status != 422 || !strings.Contains(body, "Prénom : est obligatoire.") || strings.Contains(body, "is required") {
		t.Fatalf("%d %s", status, body)
	}
}

// TestVoucherFormShowsEveryErrorAtOnce: one submit lists every bad field,
// each next to its field, in French, and writes nothing.
func TestVoucherFormShowsEveryErrorAtOnce(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	cookie := prescriberSession(t, h, svc)
	form := url.Values{"first_name": {""}, "last_name": {""}, "birth_year": {"mil neuf cent"}, "postal_code": {"123"},
		"devices": {"1"}, "recharges": {"99"}, "valid_days": {"0"}}
	status, body := submit(t, h, "/bons", form, cookie)
	if status != 422 {
		t.Fatalf("status %d", status)
	}
	for _, field := range []string{"first_name", "last_name", "birth_year", "postal_code", "recharges", "valid_days", "device_categories"} {
		if !strings.Contains(body, `id="`+field+`-error"`) {
			t.Errorf("no error next to %s", field)
		}
	}
	if !strings.Contains(body, "un nombre entier est attendu") || strings.Contains(body, "is required") {
		t.Errorf("errors not in French:\n%s", body)
	}
	var people int64
	svc.db.Table("beneficiaries").Count(&people)
	if people != 0 {
		t.Fatalf("%d people recorded from a bad form", people)
	}
}

// prescriberSession makes a prescriber organisation and its user
// p@example.org, and returns the user's web session.
func prescriberSession(t *testing.T, h *testenv.HTTP, svc *app) *http.Cookie {
	t.Helper()
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	org, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindPrescriber, Name: "CCAS"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.partners.CreateUser(ctx, admin, partners.NewUser{Email: "p@example.org", Name: "P", Password: "0123456789", Role: partners.RolePrescriber, OrganizationID: &org.ID}); err != nil {
		t.Fatal(err)
	}
	return webLogin(t, h, "p@example.org", "0123456789")
}
