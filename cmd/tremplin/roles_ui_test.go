package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// TestPagesAnswerTheirRolesAlone: each page that only some roles may use
// answers them, and refuses everyone else with a French page (403), before
// reading the record the path names: a space's staff asking for an
// organisation that does not exist learn nothing of it. A refused form
// changes nothing.
func TestPagesAnswerTheirRolesAlone(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, _, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	cookies := map[string]*http.Cookie{}
	for _, who := range []string{"admin", "entrepot", "belleville", "ccas"} {
		a := demoAccountIn(t, net, who+"@demo.tremplin.local")
		cookies[who] = webLogin(t, h, a.Email, a.Password)
	}
	pages := []struct {
		path    string
		allowed []string
	}{
		{"/admin/organisations", []string{"admin"}},
		{"/admin/organisations/nouvelle", []string{"admin"}},
		{"/admin/organisations/1", []string{"admin"}},
		{"/admin/utilisateurs", []string{"admin"}},
		{"/admin/utilisateurs/nouveau", []string{"admin"}},
		{"/admin/reseau", []string{"admin"}},
		{"/admin/prix", []string{"admin"}},
		{"/ventes", []string{"belleville"}},
		{"/cloture", []string{"belleville"}},
		{"/bons/nouveau", []string{"ccas"}},
		{"/accessoires", []string{"admin", "entrepot", "belleville"}},
		{"/poste", []string{"admin", "entrepot"}},
		{"/poste/commandes.pdf", []string{"admin", "entrepot"}},
		{"/dons", []string{"admin", "entrepot"}},
		{"/etiquettes", []string{"admin", "entrepot", "belleville"}},
		{"/caisse", []string{"belleville"}},
		{"/recharges", []string{"admin", "entrepot"}},
		{"/recharges/1", []string{"admin"}},
		{"/compte", []string{"admin", "entrepot", "belleville", "ccas"}},
	}
	for _, pg := range pages {
		for who, cookie := range cookies {
			status, ctype, body := exchange(t, h, "GET", pg.path, nil, cookie)
			want := http.StatusForbidden
			for _, a := range pg.allowed {
				if a == who {
					want = http.StatusOK
				}
			}
			page := strings.HasPrefix(ctype, "text/html") || want == http.StatusOK && strings.HasSuffix(pg.path, ".pdf") && ctype == "application/pdf"
			if status != want || !page {
				t.Errorf("%s as %s: %d %s, want %d", pg.path, who, status, ctype, want)
			}
			if want == http.StatusForbidden && !strings.Contains(body, "lang=\"fr\"") {
				t.Errorf("%s as %s: the refusal is not a French page:\n%.300s", pg.path, who, body)
			}
		}
	}
	// Refused before the path is read: no organisation 999999 for anyone
	// but the admin to find out about.
	if status, _, _ := exchange(t, h, "GET", "/admin/organisations/999999", nil, cookies["belleville"]); status != http.StatusForbidden {
		t.Errorf("a space's staff asking for an organisation that does not exist: %d, want 403", status)
	}
	if status, _, _ := exchange(t, h, "GET", "/admin/organisations/999999", nil, cookies["admin"]); status != http.StatusNotFound {
		t.Errorf("the admin asking for an organisation that does not exist: %d, want 404", status)
	}
	// A refused form changes nothing: the price grid as before.
	admin := partners.Caller{Role: partners.RoleAdmin}
	before, err := svc.inventory.PriceGrid(t.Context(), admin)
	if err != nil {
		t.Fatal(err)
	}
	_, _, form := exchange(t, h, "GET", "/admin/prix", nil, cookies["admin"])
	key := formKeyField.FindStringSubmatch(form)
	if key == nil {
		t.Fatal("no form key on the prices page")
	}
	if status, _, _ := exchange(t, h, "POST", "/admin/prix", url.Values{"form_key": {key[1]}, "price_smartphone_A": {"1"}}, cookies["entrepot"]); status != http.StatusForbidden {
		t.Errorf("the warehouse saving the price grid: %d, want 403", status)
	}
	after, err := svc.inventory.PriceGrid(t.Context(), admin)
	if err != nil {
		t.Fatal(err)
	}
	if before[inventory.Smartphone]["A"] != after[inventory.Smartphone]["A"] {
		t.Errorf("a refused form changed the grid: %v, then %v", before[inventory.Smartphone], after[inventory.Smartphone])
	}
}
