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
		chromedp.WaitVisible("#welcome"),
	)
	if err != nil {
		t.Fatal(err)
	}
	welcome, err := chromedp.Run(run, chromedp.Text("#welcome"))
	if err != nil || welcome != "Bonjour Chloé Martin" {
		t.Fatalf("welcome %q (%v)", welcome, err)
	}
	orgName, _ := chromedp.Run(run, chromedp.Text("#organization"))
	if orgName != "Espace numérique du Port" {
		t.Fatalf("organisation shown %q", orgName)
	}
	if shot := os.Getenv("TREMPLIN_SCREENSHOTS"); shot != "" {
		png, err := chromedp.Run(run, chromedp.FullScreenshot(100))
		if err == nil {
			_ = os.WriteFile(shot+"/home.png", png, 0o644)
		}
	}

	err = chromedp.Do(run, chromedp.Click(`button.link`), chromedp.WaitVisible("#login-form"))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(run, chromedp.Location())
	if !strings.HasSuffix(loc, "/login") {
		t.Fatalf("after logout at %s", loc)
	}
}
