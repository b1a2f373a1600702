package main

import (
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// TestAdminSetsUpASpaceInBrowser is the network admin setting up a new
// space on the demo network with the pages alone: the space in
// America/Cayenne with its printers, a person for it (a role that does not
// fit the space refused with its reason, then the right one, its password
// shown once and working), a recharge product, a batch of cards with one
// bad line (nothing imported, the line shown) then a good one, the price
// grid edited in place and a tag prefix; every step checked in the
// database. Then the new person changes their password and language and
// logs out everywhere.
func TestAdminSetsUpASpaceInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	_, admin, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(admin.Email, admin.Password)
	ui.Do(chromedp.WaitVisible("#stock-by-site"))
	if got := ui.Text("#stock-by-site"); !strings.Contains(got, "Espace numérique Belleville") {
		t.Fatalf("the admin's home shows %q", got)
	}
	checkPage(t, ui, "admin-network", "/admin")

	// The space, in Cayenne.
	ui.ClickText("Organisations")
	ui.Do(chromedp.WaitVisible("#organizations"))
	checkPage(t, ui, "admin-organizations", "/admin/organisations")
	ui.Follow("#new-organization")
	ui.Do(chromedp.SetValue("#kind", "space"), chromedp.SendKeys("#name", "Espace Solidaire de Cayenne"),
		chromedp.SetValue("#timezone", "America/Cayenne"), chromedp.SendKeys("#address", "12 rue Lallouette, 97300 Cayenne"))
	ui.ClickText("Créer l'organisation")
	ui.Do(chromedp.WaitVisible("#add-user"))
	var space partners.Organization
	svc.db.DB.Where("name = ?", "Espace Solidaire de Cayenne").Take(&space)
	if space.Kind != partners.KindSpace || space.Timezone != "America/Cayenne" || !space.Active {
		t.Fatalf("the new space: %+v", space)
	}
	ui.Do(chromedp.SetValue("#receipt_format", "a4"), chromedp.SetValue("#label_layout", "dymo-54x25"))
	ui.Follow("#save-organization")
	svc.db.DB.Where("id = ?", space.ID).Take(&space)
	if space.ReceiptFormat != "a4" || space.LabelLayout != "dymo-54x25" {
		t.Fatalf("the space's printers: %q, %q", space.ReceiptFormat, space.LabelLayout)
	}
	orgPath := "/admin/organisations/" + strconv.FormatInt(space.ID, 10)
	checkPage(t, ui, "admin-organization", orgPath)

	// Its first person: a prescriber's role is refused with the reason,
	// then the space's role is taken and the password shown once.
	ui.Open(orgPath, "#add-user")
	ui.Follow("#add-user")
	if role := ui.Value("#role"); role != "space" {
		t.Fatalf("the role offered for a space is %q", role)
	}
	checkPage(t, ui, "admin-new-user", "/admin/utilisateurs/nouveau?organisation="+strconv.FormatInt(space.ID, 10))
	ui.Do(chromedp.SendKeys("#name", "Maëlle Joseph"), chromedp.SendKeys("#email", "maelle@cayenne.example.org"),
		chromedp.SetValue("#role", "prescriber"))
	ui.ClickText("Créer le compte")
	ui.Do(chromedp.WaitVisible("#role-error"))
	if msg := ui.Text("#role-error"); !strings.Contains(msg, "demande une organisation de type") || !strings.Contains(msg, "Espace") {
		t.Fatalf("a prescriber at a space: %q", msg)
	}
	var users int64
	svc.db.Table("users").Where("email = ?", "maelle@cayenne.example.org").Count(&users)
	if users != 0 {
		t.Fatal("a refused account was created")
	}
	ui.Do(chromedp.SetValue("#role", "space"))
	ui.ClickText("Créer le compte")
	ui.Do(chromedp.WaitVisible("#password"))
	password := ui.Text("#password")
	var maelle partners.User
	svc.db.DB.Where("email = ?", "maelle@cayenne.example.org").Take(&maelle)
	if maelle.Role != partners.RoleSpace || maelle.OrganizationID == nil || *maelle.OrganizationID != space.ID || len(password) < 12 {
		t.Fatalf("the new account: %+v, password %q", maelle, password)
	}
	userPath := "/admin/utilisateurs/" + strconv.FormatInt(maelle.ID, 10)
	if _, _, body := exchange(t, h, "GET", userPath, nil, ui.Cookie(sessionCookie)); strings.Contains(body, password) {
		t.Fatal("the password shows again on the user's page")
	}
	ui.Open("/admin/utilisateurs", "#users")
	checkPage(t, ui, "admin-users", "/admin/utilisateurs")

	// A recharge product, then a batch with a bad line, then a good one.
	var operator partners.Organization
	svc.db.DB.Where("kind = ?", partners.KindOperator).Take(&operator)
	ui.Open("/recharges", "#product-form")
	ui.Do(chromedp.SetValue("#operator_id", strconv.FormatInt(operator.ID, 10)), chromedp.SendKeys("#name", "Recharge Digicel 10 €"),
		chromedp.SendKeys("#face_value_cents", "10"), chromedp.SendKeys("#price_cents", "2,50"))
	ui.Follow("#create-product")
	var product recharges.Product
	svc.db.DB.Where("name = ?", "Recharge Digicel 10 €").Take(&product)
	if product.FaceValueCents != 1000 || product.PriceCents != 250 || product.OperatorID != operator.ID {
		t.Fatalf("the product: %+v", product)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "digicel-bad.csv")
	good := filepath.Join(dir, "digicel.csv")
	os.WriteFile(bad, []byte("serial,pin,expires_on\nDG-0001,1234567890,2030-06-30\nDG-0002,2345678901,30/06/2030\nDG-0003,3456789012,2030-06-30\n"), 0o644)
	os.WriteFile(good, []byte("serial,pin,expires_on\nDG-0001,1234567890,2030-06-30\nDG-0002,2345678901,2030-06-30\nDG-0003,3456789012,2030-06-30\n"), 0o644)
	ui.Open("/recharges", "#batch-form")
	ui.Do(chromedp.SetValue("#batch-product", strconv.FormatInt(product.ID, 10)), chromedp.SetValue("#batch-site", strconv.FormatInt(space.ID, 10)),
		chromedp.SetUploadFiles("#file", []string{bad}))
	ui.Follow("#import-batch")
	ui.Do(chromedp.WaitVisible("#bad-lines"))
	var units int64
	svc.db.Table("recharge_units").Where("product_id = ?", product.ID).Count(&units)
	if lines := ui.Text("#bad-lines"); units != 0 || !strings.Contains(lines, "3") || !strings.Contains(lines, "30/06/2030") || strings.Contains(lines, "DG-0001") {
		t.Fatalf("a file with a bad line: %d units, table %q", units, lines)
	}
	ui.Shot("admin-bad-lines")
	ui.Do(chromedp.SetValue("#batch-product", strconv.FormatInt(product.ID, 10)), chromedp.SetValue("#batch-site", strconv.FormatInt(space.ID, 10)),
		chromedp.SetUploadFiles("#file", []string{good}))
	ui.Follow("#import-batch")
	svc.db.Table("recharge_units").Where("product_id = ? AND site_id = ?", product.ID, space.ID).Count(&units)
	if units != 3 || !strings.Contains(ui.Text("#flash"), "3 cartes importées") {
		t.Fatalf("the good file: %d units, %q", units, ui.Text("#flash"))
	}
	checkPage(t, ui, "admin-recharges", "/recharges")
	report := httpGet(t, h.URL+"/recharges/vendues.csv?operator_id="+strconv.FormatInt(operator.ID, 10)+"&month=2026-11", ui.Cookie(sessionCookie))
	// As French Excel opens it: a BOM, semicolons, French headers.
	sheet := csv.NewReader(strings.NewReader(strings.TrimPrefix(report, "\ufeff")))
	sheet.Comma = ';'
	if rows, err := sheet.ReadAll(); err != nil || len(rows) < 1 || rows[0][0] != "Numéro de série" {
		t.Fatalf("the sold report: %v %q", err, report)
	}

	// The price grid in place: a typo is said in its cell, then the price.
	ui.Open("/admin/prix", "#price-grid")
	checkPage(t, ui, "admin-prices", "/admin/prix")
	ui.Do(chromedp.SetValue("#price_smartphone_A", "quarante"))
	ui.Follow("#save-grid")
	ui.Do(chromedp.WaitVisible("#price_smartphone_A-error"))
	ui.Do(chromedp.SetValue("#price_smartphone_A", "40"), chromedp.Clear("#price_tablet_D"))
	ui.Follow("#save-grid")
	var price struct{ PriceCents int64 }
	svc.db.Table("price_grid").Where("category = ? AND grade = ?", "smartphone", "A").Scan(&price)
	var tabletD int64
	svc.db.Table("price_grid").Where("category = ? AND grade = ?", "tablet", "D").Count(&tabletD)
	if price.PriceCents != 4000 || tabletD != 0 {
		t.Fatalf("the grid: smartphone A %d cents, tablet D rows %d", price.PriceCents, tabletD)
	}
	ui.Do(chromedp.SetValue("#prefix_tablet", "tab"))
	ui.Follow("#save-prefixes")
	var prefix string
	svc.db.Table("tag_prefixes").Where("category = ?", "tablet").Pluck("prefix", &prefix)
	if prefix != "TAB" {
		t.Fatalf("the tablet prefix is %q", prefix)
	}

	// The new person: the password given works; they change it (the
	// current one asked), choose English, and log out everywhere.
	ui.Do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	ui.Login(maelle.Email, password)
	ui.Do(chromedp.WaitVisible("#top-who"))
	ui.Follow("#top-who")
	ui.Do(chromedp.WaitVisible("#password-form"))
	checkPage(t, ui, "account", "/compte")
	ui.Do(chromedp.SendKeys("#current_password", "pas le bon"), chromedp.SendKeys("#password", "un nouveau mot de passe"),
		chromedp.SendKeys("#password_again", "un nouveau mot de passe"))
	ui.Follow("#change-password")
	ui.Do(chromedp.WaitVisible("#current_password-error"))
	ui.Do(chromedp.SendKeys("#current_password", password), chromedp.SendKeys("#password", "un nouveau mot de passe"),
		chromedp.SendKeys("#password_again", "un nouveau mot de passe"))
	ui.Follow("#change-password")
	if msg := ui.Text("#flash"); !strings.Contains(msg, "mot de passe est changé") {
		t.Fatalf("after the change: %q", msg)
	}
	webLogin(t, h, maelle.Email, "un nouveau mot de passe")
	ui.Do(chromedp.Click(`input[name="lang"][value="en"]`))
	ui.Follow("#save-language")
	if msg := ui.Text("#flash"); msg != "The language is recorded." || ui.Text("h1") != "My account" {
		t.Fatalf("in English: %q, %q", msg, ui.Text("h1"))
	}
	svc.db.DB.Where("id = ?", maelle.ID).Take(&maelle)
	if maelle.Language != "en" {
		t.Fatalf("the language setting is %q", maelle.Language)
	}
	before := ui.Cookie(sessionCookie)
	other := webLogin(t, h, maelle.Email, "un nouveau mot de passe")
	ui.Follow("#logout-everywhere")
	ui.Do(chromedp.WaitVisible("#login-form"))
	for _, cookie := range []*http.Cookie{before, other} {
		r := noRedirect(t, "GET", h.URL+"/compte", nil, cookie)
		r.Body.Close()
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Fatalf("a session after logging out everywhere: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	}

	// The admin deactivates the account: it can no longer log in.
	ui.Login(admin.Email, admin.Password)
	ui.Open(userPath, "#deactivate")
	ui.Follow("#deactivate")
	svc.db.DB.Where("id = ?", maelle.ID).Take(&maelle)
	if maelle.Active {
		t.Fatal("the account is still active")
	}
}

// httpGet fetches a page's body with a session cookie.
func httpGet(t *testing.T, target string, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", target, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %.300s", target, resp.StatusCode, b)
	}
	return string(b)
}
