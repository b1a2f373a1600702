package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/demo"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// TestCounterSaleInBrowser sells at the demo's Paris space as its staff
// would: the voucher scanned, a device of a category the voucher does not
// allow refused with its French reason, a smartphone scanned, two
// recharges added, paid in cash; the receipt carries the device and two
// PINs; the payment sent again (back, then pay) makes no second sale; the
// voucher, used up, is then refused with the reason.
func TestCounterSaleInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	net, err := demo.Seed(ctx, demo.Services{Partners: svc.partners, Recharges: svc.recharges, Inventory: svc.inventory, Distribution: svc.distribution})
	if err != nil {
		t.Fatal(err)
	}
	var space partners.DemoAccount
	for _, a := range net.Accounts {
		if a.Email == "belleville@demo.tremplin.local" {
			space = a
		}
	}
	code, _, _ := strings.Cut(net.Vouchers[0], " ") // 1 device among smartphone and laptop, 2 recharges, at Belleville
	var siteID int64
	svc.db.Table("users").Where("email = ?", space.Email).Pluck("organization_id", &siteID)
	var phone, other inventory.Device
	if err := svc.db.DB.Where("site_id = ? AND state = ? AND category = ?", siteID, inventory.InStock, inventory.Smartphone).Take(&phone).Error; err != nil {
		t.Fatalf("no smartphone in stock at the demo space: %v", err)
	}
	if err := svc.db.DB.Where("site_id = ? AND state = ? AND category NOT IN ?", siteID, inventory.InStock, []string{"smartphone", "laptop"}).Take(&other).Error; err != nil {
		t.Fatalf("no device of another category in stock at the demo space: %v", err)
	}

	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Do(chromedp.WaitVisible("#till"))
	ui.Scan(strings.ToLower(code), "#voucher")
	if person := ui.Text("#voucher-person"); !strings.HasPrefix(person, "Aïcha") {
		t.Fatalf("voucher for %q", person)
	}
	ui.Scan(other.Tag, "#till-error")
	if msg := ui.Text("#till-error"); !strings.Contains(msg, "ne peut pas être vendu") || !strings.Contains(msg, "le bon permet") {
		t.Fatalf("refused category says %q", msg)
	}
	ui.Scan(phone.Tag, "#till-added")
	ui.ClickText("Recharge")
	ui.ClickText("Recharge")
	ui.Do(chromedp.WaitVisible("#total"))
	ui.Shot("counter-basket")
	if total := ui.Text("#total"); total == "" {
		t.Fatal("no total")
	}
	basket := url.Values{"voucher": {ui.Value(`input[name="voucher"]`)}, "key": {ui.Value(`input[name="key"]`)},
		"device": {phone.Tag}, "pay": {"cash"}}
	for _, id := range []string{"qty_1", "qty_2", "qty_3"} {
		if ui.Has(`input[name="` + id + `"]`) {
			basket.Set(id, ui.Value(`input[name="`+id+`"]`))
		}
	}
	var sales int64
	svc.db.Table("sales").Count(&sales)
	if sales != 0 {
		t.Fatalf("%d sales before payment", sales)
	}
	ui.ClickText("Espèces")
	ui.Do(chromedp.WaitVisible("#sale-done"))
	ui.Shot("counter-sale")
	salePage, _ := url.Parse(ui.Location())
	var sold inventory.Device
	svc.db.DB.Where("id = ?", phone.ID).Take(&sold)
	svc.db.Table("sales").Count(&sales)
	if sold.State != inventory.Sold || sales != 1 {
		t.Fatalf("after payment: device %s, %d sales", sold.State, sales)
	}
	var used struct{ DevicesUsed, RechargesUsed int }
	svc.db.Table("vouchers").Select("devices_used, recharges_used").Where("code = ?", strings.ReplaceAll(code, "-", "")).Scan(&used)
	if used.DevicesUsed != 1 || used.RechargesUsed != 2 {
		t.Fatalf("entitlements used: %+v", used)
	}
	cookie := ui.Cookie(partners.SessionCookie)
	receipt := testenv.PDFText(t, getPDF(t, h.URL+salePage.Path+"/ticket.pdf?format=80mm", cookie))
	if !strings.Contains(receipt, phone.Tag) || strings.Count(receipt, "Code :") < 2 {
		t.Fatalf("receipt:\n%s", receipt)
	}
	// The payment sent again (a second click, a retry) leads to the same sale.
	r := noRedirect(t, "POST", h.URL+"/caisse", basket, cookie)
	r.Body.Close()
	svc.db.Table("sales").Count(&sales)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != salePage.Path || sales != 1 {
		t.Fatalf("payment again: %d to %q, %d sales", r.StatusCode, r.Header.Get("Location"), sales)
	}
	// Next sale: the voucher, used up, says so and since when.
	ui.ClickText("Vente suivante")
	ui.Do(chromedp.WaitVisible("#till"))
	if ui.Focused() != "code" {
		t.Fatalf("the next sale's focus is on %q", ui.Focused())
	}
	ui.Scan(code, "#voucher-problem")
	if msg := ui.Text("#voucher-problem"); !strings.Contains(msg, "épuisé") {
		t.Fatalf("used voucher says %q", msg)
	}
	checkPage(t, ui, "counter", "/caisse")
}
