package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/tremplin/tremplin/internal/backup"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestOperationsInBrowser (issue 31) walks the new pages of operations on
// the demo network: the admin's dashboard warns that no backup was taken,
// then says when the last one was; a space closes its day and its closing
// prints the sales journal's fingerprint; the login page offers
// ProConnect, and one click through the provider logs the admin in.
func TestOperationsInBrowser(t *testing.T) {
	op := testenv.OIDC(t)
	h, svc, _ := newTestRouterEnv(t, map[string]string{"TREMPLIN_OIDC_ISSUER": op.Issuer(), "TREMPLIN_OIDC_CLIENT_ID": op.ClientID,
		"TREMPLIN_OIDC_CLIENT_SECRET": op.ClientSecret})
	net, space, _ := demoAccount(t, svc, "belleville@demo.tremplin.local")
	admin := demoAccountIn(t, net, "admin@demo.tremplin.local")

	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(admin.Email, admin.Password)
	ui.Open("/admin", "#backup-state")
	if got := ui.Text("#backup-state"); !strings.Contains(got, "Aucune sauvegarde") {
		t.Fatalf("the dashboard without a backup says %q", got)
	}
	checkPage(t, ui, "admin-no-backup", "/admin")
	at := database.Now().Add(-3 * time.Hour)
	if err := backup.Record(context.Background(), svc.db, backup.Result{Path: "/srv/tremplin-x.db", SHA256: strings.Repeat("0", 64), Size: 1, TakenAt: at}); err != nil {
		t.Fatal(err)
	}
	ui.Open("/admin", "#backup-state")
	if got := ui.Text("#backup-state"); !strings.Contains(got, "Dernière sauvegarde") || ui.Has("p.flash#backup-state") {
		t.Fatalf("the dashboard after a backup says %q", got)
	}
	ui.Shot("admin-backup-recent")

	counter := testenv.NewUI(t, h.URL, 20*time.Second)
	counter.Login(space.Email, space.Password)
	counter.Open("/cloture", "#closing-form")
	counter.Do(chromedp.SendKeys("#counted", "0"))
	counter.Follow("#record-closing")
	hash := counter.Text("#journal-hash")
	if !regexp.MustCompile(`Empreinte du journal des ventes à la clôture : [0-9a-f]{64}`).MatchString(hash) {
		t.Fatalf("the closing's journal fingerprint: %q", hash)
	}
	checkPage(t, counter, "closing-journal", "/cloture")

	visitor := testenv.NewUI(t, h.URL, 20*time.Second)
	visitor.Open("/login", "#sso-login")
	if got := visitor.Text("#sso-login"); got != "Se connecter avec ProConnect" {
		t.Fatalf("the login page's button: %q", got)
	}
	visitor.Shot("login-sso")
	if over := visitor.Narrow(); over > 0 {
		t.Errorf("the login page scrolls %d px sideways at 390 px", over)
	}
	visitor.Shot("login-sso-390")
	visitor.Wide()
	op.QueueUser(&mockoidc.MockUser{Subject: "admin", Email: admin.Email, EmailVerified: true})
	visitor.Follow("#sso-login")
	if loc := visitor.Location(); !strings.HasSuffix(loc, "/admin") {
		t.Fatalf("after ProConnect the admin lands on %s", loc)
	}
}
