package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
)

var formKeyField = regexp.MustCompile(`name="form_key" value="([0-9a-f]+)"`)

// noRedirect sends a request as a browser's form would, without following
// the answer's redirect.
func noRedirect(t *testing.T, method, target string, form url.Values, cookie *http.Cookie, headers ...string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, _ := io.ReadAll(r)
	return string(b)
}

// TestFormActsOnceUnderRetries: the same drawn form sent many times at
// once (a double click, a retry after a dropped connection) registers one
// device, and every answer leads to the same page; a new drawing of the
// form acts again.
func TestFormActsOnceUnderRetries(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	cookie := webLogin(t, h, "marc@example.org", uiPassword)
	resp := noRedirect(t, "POST", h.URL+"/dons", url.Values{"donor_id": {strconv.FormatInt(n.donor.ID, 10)}}, cookie)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create donation: %d %s", resp.StatusCode, bodyOf(t, resp))
	}
	donation := resp.Header.Get("Location")
	drawn := bodyOf(t, noRedirect(t, "GET", h.URL+donation, nil, cookie))
	m := formKeyField.FindStringSubmatch(drawn)
	if m == nil {
		t.Fatal("the intake form carries no key")
	}
	form := url.Values{"form_key": {m[1]}, "category": {"smartphone"}, "brand": {"Fairphone"}, "model": {"4"}, "code": {intakeIMEIs[0]}}
	const tries = 12
	var wg sync.WaitGroup
	where := make([]string, tries)
	status := make([]int, tries)
	for i := range tries {
		wg.Go(func() {
			r := noRedirect(t, "POST", h.URL+donation+"/appareils", form, cookie)
			r.Body.Close()
			status[i], where[i] = r.StatusCode, r.Header.Get("Location")
		})
	}
	wg.Wait()
	for i := range tries {
		if status[i] != http.StatusSeeOther || where[i] != where[0] {
			t.Fatalf("try %d: %d to %q (first went to %q)", i, status[i], where[i], where[0])
		}
	}
	var count int64
	svc.db.Model(&inventory.Device{}).Where("brand = ?", "Fairphone").Count(&count)
	if count != 1 {
		t.Fatalf("%d devices registered by one form sent %d times", count, tries)
	}
	// The form drawn again has a new key: the next scan registers.
	again := formKeyField.FindStringSubmatch(bodyOf(t, noRedirect(t, "GET", h.URL+where[0], nil, cookie)))
	if again == nil || again[1] == m[1] {
		t.Fatal("the form drawn again has the same key")
	}
	form.Set("form_key", again[1])
	form.Set("code", intakeIMEIs[1])
	if r := noRedirect(t, "POST", h.URL+donation+"/appareils", form, cookie); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("next scan: %d", r.StatusCode)
	}
	svc.db.Model(&inventory.Device{}).Where("brand = ?", "Fairphone").Count(&count)
	if count != 2 {
		t.Fatalf("%d devices after the next scan", count)
	}
	// A refused form lets go of its key: corrected, it acts.
	bad := formKeyField.FindStringSubmatch(bodyOf(t, noRedirect(t, "GET", h.URL+donation, nil, cookie)))[1]
	form.Set("form_key", bad)
	form.Set("code", "356938035643808")
	if r := noRedirect(t, "POST", h.URL+donation+"/appareils", form, cookie); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("misread IMEI: %d", r.StatusCode)
	}
	form.Set("code", intakeIMEIs[2])
	if r := noRedirect(t, "POST", h.URL+donation+"/appareils", form, cookie); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("corrected form: %d", r.StatusCode)
	}
}

// TestPagesAndAssetsTravelCompressed: pages and static files are gzipped
// when the browser asks; a static file named with its hash is kept a year;
// the API answers uncompressed, as its clients expect.
func TestPagesAndAssetsTravelCompressed(t *testing.T) {
	h, _, _ := newTestRouter(t)
	r := noRedirect(t, "GET", h.URL+"/login", nil, nil, "Accept-Encoding", "gzip")
	page := bodyOf(t, r)
	if r.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(page, `lang="fr"`) {
		t.Fatalf("login page: encoding %q", r.Header.Get("Content-Encoding"))
	}
	css := regexp.MustCompile(`href="(/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("the stylesheet is not linked with its hash")
	}
	r = noRedirect(t, "GET", h.URL+css[1], nil, nil, "Accept-Encoding", "gzip")
	if r.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") || !strings.Contains(bodyOf(t, r), "--accent") {
		t.Fatalf("hashed stylesheet: %q, %q", r.Header.Get("Content-Encoding"), r.Header.Get("Cache-Control"))
	}
	r = noRedirect(t, "GET", h.URL+"/static/style.css?v=old", nil, nil)
	r.Body.Close()
	if r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("a stale hash is cached: %q", r.Header.Get("Cache-Control"))
	}
	r = noRedirect(t, "GET", h.URL+"/api/openapi.json", nil, nil, "Accept-Encoding", "gzip")
	r.Body.Close()
	if r.Header.Get("Content-Encoding") != "" {
		t.Fatalf("the API answered %q", r.Header.Get("Content-Encoding"))
	}
}

// TestLanguageFollowsTheBrowserThenTheSetting: a page speaks the browser's
// language until the person chooses one, which then follows them to any
// browser.
func TestLanguageFollowsTheBrowserThenTheSetting(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	newWarehouseNetwork(t, svc)
	cookie := webLogin(t, h, "marc@example.org", uiPassword)
	station := func(accept string) string {
		return bodyOf(t, noRedirect(t, "GET", h.URL+"/poste", nil, cookie, "Accept-Language", accept))
	}
	if p := station("en-GB,en"); !strings.Contains(p, "Scan station") || !strings.Contains(p, `lang="en"`) {
		t.Fatal("an English browser does not get English")
	}
	if p := station("fr-FR"); !strings.Contains(p, "Poste de scan") {
		t.Fatal("a French browser does not get French")
	}
	r := noRedirect(t, "POST", h.URL+"/langue", url.Values{"lang": {"en"}, "next": {"/poste"}}, cookie)
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/poste" {
		t.Fatalf("language switch: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if p := station("fr-FR"); !strings.Contains(p, "Scan station") {
		t.Fatal("the person's choice of English does not hold on a French browser")
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/"} {
		r := noRedirect(t, "POST", h.URL+"/langue", url.Values{"lang": {"fr"}, "next": {next}}, cookie)
		r.Body.Close()
		if r.Header.Get("Location") != "/" {
			t.Fatalf("the switch sends to %q", r.Header.Get("Location"))
		}
	}
	if r := noRedirect(t, "POST", h.URL+"/langue", url.Values{"lang": {"xx"}}, cookie); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unknown language: %d", r.StatusCode)
	}
	var lang string
	svc.db.Table("users").Where("email = ?", "marc@example.org").Pluck("language", &lang)
	if lang != "fr" {
		t.Fatalf("setting stored %q", lang)
	}
	_ = testenv.RequireAll
}

// TestFormOnlyAddressLeadsBack: the address of a form's answer, reloaded
// or bookmarked, leads back to the form's page; the API keeps its 405.
func TestFormOnlyAddressLeadsBack(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	newWarehouseNetwork(t, svc)
	cookie := webLogin(t, h, "marc@example.org", uiPassword)
	for path, want := range map[string]string{"/dons/2/appareils": "/dons/2", "/etiquettes/planche.pdf": "/etiquettes", "/langue": "/"} {
		r := noRedirect(t, "GET", h.URL+path, nil, cookie)
		r.Body.Close()
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want %s", path, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	h.Do("DELETE", "/api/v1/donations", "", nil).ExpectProblem(t, http.StatusMethodNotAllowed)
}
