package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

// TestWebLoginInBrowser drives the login page in a real headless Chromium:
// a wrong password shows a French error, the right one opens the home page,
// and logging out returns to the login page.
func TestWebLoginInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	org, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindSpace, Name: "Espace numérique du Port"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.partners.CreateUser(ctx, admin, partners.NewUser{Email: "chloe@example.org", Name: "Chloé Martin",
		Password: "mot de passe sûr", Role: partners.RoleSpace, OrganizationID: &org.ID}); err != nil {
		t.Fatal(err)
	}

	b := testenv.Browser(t)
	run, cancel := testenv.Within(b, 30*time.Second)
	defer cancel()

	err = chromedp.Do(run,
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#email", "chloe@example.org"),
		chromedp.SendKeys("#password", "not my password"),
		chromedp.Submit("#login-form"),
		chromedp.WaitVisible("#login-error"),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(run, chromedp.Text("#login-error"))
	if err != nil || !strings.Contains(msg, "incorrect") {
		t.Fatalf("error message %q (%v)", msg, err)
	}

	err = chromedp.Do(run,
		chromedp.SendKeys("#password", "mot de passe sûr"),
		chromedp.Submit("#login-form"),
		chromedp.WaitVisible("#till"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// A space's home is its counter, under a top bar that says who and where.
	who, err := chromedp.Run(run, chromedp.Text("#top-who"))
	if err != nil || !strings.HasPrefix(who, "Chloé Martin") {
		t.Fatalf("top bar says %q (%v)", who, err)
	}
	orgName, _ := chromedp.Run(run, chromedp.Text("#top-where"))
	if orgName != "Espace numérique du Port" {
		t.Fatalf("organisation shown %q", orgName)
	}
	if shot := os.Getenv("TREMPLIN_SCREENSHOTS"); shot != "" {
		png, err := chromedp.Run(run, chromedp.FullScreenshot(100))
		if err == nil {
			_ = os.WriteFile(shot+"/home.png", png, 0o644)
		}
	}

	err = chromedp.Do(run, chromedp.Click(`#logout`), chromedp.WaitVisible("#login-form"))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(run, chromedp.Location())
	if !strings.HasSuffix(loc, "/login") {
		t.Fatalf("after logout at %s", loc)
	}
}

// TestVoucherFlowInBrowser: a prescriber issues a voucher through the form
// in under a minute, and the counter checks it by typing the code loosely.
func TestVoucherFlowInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	ccas, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindPrescriber, Name: "CCAS de Montreuil"})
	if err != nil {
		t.Fatal(err)
	}
	space, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindSpace, Name: "Espace Belleville"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []partners.NewUser{
		{Email: "sophie@example.org", Name: "Sophie Lefèvre", Password: "mot de passe sûr", Role: partners.RolePrescriber, OrganizationID: &ccas.ID},
		{Email: "chloe@example.org", Name: "Chloé Martin", Password: "mot de passe sûr", Role: partners.RoleSpace, OrganizationID: &space.ID},
	} {
		if _, err := svc.partners.CreateUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
	}
	b := testenv.Browser(t)
	run, cancel := testenv.Within(b, 60*time.Second)
	defer cancel()
	login := func(email string) error {
		return chromedp.Do(run,
			chromedp.Navigate(h.URL+"/login"),
			chromedp.WaitVisible("#login-form"),
			chromedp.SendKeys("#email", email),
			chromedp.SendKeys("#password", "mot de passe sûr"),
			chromedp.Submit("#login-form"),
			chromedp.WaitVisible("#logout"),
		)
	}
	if err := login("sophie@example.org"); err != nil {
		t.Fatal(err)
	}
	// A mistake first: no category for the device (the first voucher's
	// default, a smartphone, unticked). The form comes back with the
	// message and the typed values.
	// The prescriber's home is the voucher form.
	err = chromedp.Do(run,
		chromedp.WaitVisible("#voucher-form"),
		chromedp.Click(`input[value="smartphone"]`),
		chromedp.SendKeys("#first_name", "Zoé"),
		chromedp.SendKeys("#last_name", "Lefèvre"),
		chromedp.SendKeys("#birth_year", "1990"),
		chromedp.Submit("#voucher-form"),
		chromedp.WaitVisible("#form-errors"),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := chromedp.Run(run, chromedp.Text("#form-errors"))
	if !strings.Contains(msg, "Catégories") {
		t.Fatalf("form errors %q", msg)
	}
	var n int64
	svc.db.Table("beneficiaries").Count(&n)
	if n != 0 {
		t.Fatal("a refused form recorded the person")
	}
	err = chromedp.Do(run,
		chromedp.Click(`input[value="smartphone"]`),
		chromedp.SetValue("#recharges", "2"),
		chromedp.Submit("#voucher-form"),
		chromedp.WaitVisible("#code"),
	)
	if err != nil {
		t.Fatal(err)
	}
	code, err := chromedp.Run(run, chromedp.Text("#code"))
	if err != nil || len(code) != 14 {
		t.Fatalf("code %q (%v)", code, err)
	}
	if shot := os.Getenv("TREMPLIN_SCREENSHOTS"); shot != "" {
		if png, err := chromedp.Run(run, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(shot+"/voucher-page.png", png, 0o644)
		}
	}

	// The counter: another user types the code in lower case, without dashes.
	if err := chromedp.Do(run, chromedp.Click(`#logout`), chromedp.WaitVisible("#login-form")); err != nil {
		t.Fatal(err)
	}
	if err := login("chloe@example.org"); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(run,
		chromedp.Navigate(h.URL+"/verifier"),
		chromedp.WaitVisible("#verify-form"),
		chromedp.SendKeys("#code", strings.ToLower(strings.ReplaceAll(code, "-", " "))),
		chromedp.Submit("#verify-form"),
		chromedp.WaitVisible("#verify-result"),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(run, chromedp.Text("#status"))
	person, _ := chromedp.Run(run, chromedp.Text("#person"))
	if status != "Actif" || !strings.HasPrefix(person, "Zoé L.") || strings.Contains(person, "Lefèvre") {
		t.Fatalf("counter sees %q, %q", status, person)
	}
	if shot := os.Getenv("TREMPLIN_SCREENSHOTS"); shot != "" {
		if png, err := chromedp.Run(run, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(shot+"/verify-page.png", png, 0o644)
		}
	}
	// A typo is told apart from an unknown code.
	typo := code[:13] + map[bool]string{true: "2", false: "3"}[code[13] != '2']
	err = chromedp.Do(run, chromedp.Navigate(h.URL+"/verifier?code="+typo), chromedp.WaitVisible("#verify-errors"))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := chromedp.Run(run, chromedp.Text("#verify-errors")); !strings.Contains(m, "erreur de frappe") {
		t.Fatalf("typo message %q", m)
	}
	// Scan after scan: a scanner types into whatever has the focus, then
	// Enter. After a result the field is focused with its text selected, so
	// the next code replaces the last one (before, it was typed in front).
	for i, scan := range []string{code, typo, code} {
		want := "#verify-result"
		if scan == typo {
			want = "#verify-errors"
		}
		err = chromedp.Do(run, chromedp.KeyEvent(scan+"\r"), chromedp.WaitVisible(want))
		if err != nil {
			t.Fatalf("scan %d (%s): %v", i+1, scan, err)
		}
		if got, _ := chromedp.Run(run, chromedp.Value("#code")); got != scan {
			t.Fatalf("scan %d: the field holds %q, want %q", i+1, got, scan)
		}
	}
}

// TestAPIDocsInBrowser: /api/docs renders the API reference from the
// vendored Redoc, with nothing fetched from outside.
func TestAPIDocsInBrowser(t *testing.T) {
	h, _, _ := newTestRouter(t)
	b := testenv.Browser(t)
	run, cancel := testenv.Within(b, 60*time.Second)
	defer cancel()
	err := chromedp.Do(run, chromedp.Navigate(h.URL+"/api/docs"), chromedp.WaitVisible(".redoc-wrap h1"))
	if err != nil {
		t.Fatal(err)
	}
	menu, err := chromedp.Run(run, chromedp.Text(".menu-content"))
	if err != nil || !strings.Contains(menu, "sales") || !strings.Contains(menu, "recharges") {
		t.Fatalf("reference menu %q (%v)", menu, err)
	}
	title, err := chromedp.Run(run, chromedp.Text(".redoc-wrap h1"))
	if err != nil || !strings.Contains(title, "Tremplin API") {
		t.Fatalf("reference title %q (%v)", title, err)
	}
	if shot := os.Getenv("TREMPLIN_SCREENSHOTS"); shot != "" {
		if png, err := chromedp.Run(run, chromedp.CaptureScreenshot()); err == nil {
			_ = os.WriteFile(shot+"/api-docs.png", png, 0o644)
		}
	}
}
