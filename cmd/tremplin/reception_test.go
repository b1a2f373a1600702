package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// TestReceptionCountsCards (issue 27, item 9): a space receiving a transfer
// counts its recharge cards by product. A card scanned where devices are
// expected is recognised; a count left empty is asked for; a short count
// asks to confirm and changes nothing until confirmed; confirmed, the
// counted cards go on sale and the rest stay in transit, listed missing
// with their serials for both sites; what arrives later is received from
// the same page. Before, the cards went into stock uncounted.
func TestReceptionCountsCards(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	n := newWarehouseNetwork(t, svc)
	admin := partners.Caller{Role: partners.RoleAdmin}
	wh, don := warehouseDonation(t, svc, n)
	phone := readyDevice(t, svc, wh, don.ID)
	product := rechargeProduct(t, svc)
	if _, err := svc.recharges.Import(ctx, wh, product.ID, n.warehouse.ID, strings.NewReader(rechargeCards(10, "RC")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.partners.CreateUser(ctx, admin, partners.NewUser{Email: "sabine@example.org", Name: "Sabine Martin", Password: uiPassword,
		Role: partners.RoleSpace, OrganizationID: &n.space.ID}); err != nil {
		t.Fatal(err)
	}
	tr, err := svc.inventory.CreateTransfer(ctx, wh, inventory.NewTransfer{FromSiteID: n.warehouse.ID, ToSiteID: n.space.ID,
		DeviceIDs: []int64{phone.ID}, Recharges: []inventory.RechargeLine{{ProductID: product.ID, Quantity: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.inventory.ShipTransfer(ctx, wh, tr.ID); err != nil {
		t.Fatal(err)
	}
	cards := func() map[string]int {
		var rows []struct {
			Status string
			N      int
		}
		svc.db.Table("recharge_units").Select("status || '@' || site_id AS status, COUNT(*) AS n").Where("product_id = ?", product.ID).
			Group("status, site_id").Scan(&rows)
		out := map[string]int{}
		for _, r := range rows {
			out[r.Status] = r.N
		}
		return out
	}
	inTransit := map[string]int{fmt.Sprintf("in_transit@%d", n.warehouse.ID): 10}
	same := func(what string, want map[string]int) {
		t.Helper()
		if got := cards(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: cards %v, want %v", what, got, want)
		}
	}
	same("shipped", inTransit)

	page := fmt.Sprintf("/transferts/%d/reception", tr.ID)
	field := fmt.Sprintf("#cards_%d", product.ID)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("sabine@example.org", uiPassword)
	ui.Open(page, "#card-counts")
	if label := ui.Text("#card-counts"); !strings.Contains(label, "Forfait 10 € · 10 cartes expédiées") {
		t.Fatalf("the cards to count: %q", label)
	}
	// A card scanned into the scan field is a card, not an unexpected device.
	ui.Scan("RC000000003", "#scan-error")
	if msg := ui.Text("#scan-error"); !strings.Contains(msg, "C'est une carte de recharge Forfait 10 €") || ui.Has("#scanned") {
		t.Fatalf("a card scanned at reception: %q", msg)
	}
	ui.Scan(phone.Tag, "#scan-added")
	// Finishing without the count asks for it, and keeps the scans.
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible(field + "-error"))
	if msg := ui.Text(field + "-error"); !strings.Contains(msg, "Comptez les cartes de Forfait 10 €") || !strings.Contains(ui.Text("#scanned"), phone.Tag) {
		t.Fatalf("no count: %q", msg)
	}
	for _, bad := range []string{"12", "011"} { // « -1 » and « huit » the field's pattern refuses before sending
		ui.Do(chromedp.SetValue(field, bad))
		ui.ClickText("Terminer la réception")
		ui.Do(chromedp.WaitVisible(field + "-error"))
		if msg := ui.Text(field + "-error"); !strings.Contains(msg, "Tapez un nombre de 0 à 10") {
			t.Fatalf("count %q: %q", bad, msg)
		}
	}
	same("counts refused", inTransit)
	// Eight counted of ten: asked to confirm, nothing done yet.
	ui.Do(chromedp.SetValue(field, "8"))
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible("#confirm-missing"))
	if msg := ui.Text("#confirm-missing"); !strings.Contains(msg, "2 cartes de Forfait 10 € n'ont pas été comptées (10 expédiées, 8 comptées)") ||
		strings.Contains(msg, "appareil") {
		t.Fatalf("the confirmation: %q", msg)
	}
	same("asked to confirm", inTransit)
	ui.Shot("space-reception-cards-short")
	checkPage(t, ui, "reception with cards", page)
	ui.Open(page, "#card-counts")
	ui.Scan(phone.Tag, "#scan-added")
	ui.Do(chromedp.SetValue(field, "8"))
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible("#confirm-missing"))
	ui.ClickText("Terminer quand même")
	ui.Do(chromedp.WaitVisible("#missing-cards"))
	same("received short", map[string]int{fmt.Sprintf("available@%d", n.space.ID): 8, fmt.Sprintf("in_transit@%d", n.warehouse.ID): 2})
	var missingSerials []string
	svc.db.Table("recharge_units").Where("product_id = ? AND status = ?", product.ID, "in_transit").Order("serial").Pluck("serial", &missingSerials)
	if fmt.Sprint(missingSerials) != "[RC000000008 RC000000009]" {
		t.Fatalf("the cards left in transit: %v (the end of the pack's range)", missingSerials)
	}
	wantMissing := "2 cartes de Forfait 10 €, numéros RC000000008 à RC000000009"
	if got := ui.Text("#missing-cards"); got != wantMissing {
		t.Fatalf("the transfer's missing cards: %q", got)
	}
	var state string
	svc.db.Table("devices").Where("id = ?", phone.ID).Pluck("state", &state)
	if state != string(inventory.InStock) {
		t.Fatalf("the phone scanned is %s", state)
	}
	// The sending warehouse sees them, and the API says them.
	view, err := svc.inventory.GetTransfer(ctx, wh, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(view.MissingRecharges) != fmt.Sprintf("[{%d 2}]", product.ID) || len(view.Missing) != 0 {
		t.Fatalf("missing as the warehouse sees it: %+v, devices %v", view.MissingRecharges, view.Missing)
	}
	token := login(t, h.URL, "sabine@example.org", uiPassword)
	r := h.Do(http.MethodPost, fmt.Sprintf("/api/v1/transfers/%d/receive", tr.ID), token,
		fmt.Sprintf(`{"codes":[],"recharges":[{"product_id":%d,"quantity":3}]}`, product.ID))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "3 card(s) of product") {
		t.Fatalf("counting more than is on the way: %d %s", r.Status, r.Body)
	}
	same("a count refused by the API", map[string]int{fmt.Sprintf("available@%d", n.space.ID): 8, fmt.Sprintf("in_transit@%d", n.warehouse.ID): 2})
	// The two late cards arrive in a second box: received from the page.
	ui.ClickText("Réceptionner ce qui est arrivé depuis")
	ui.Do(chromedp.WaitVisible(field))
	if ui.Has("#received-count") && !strings.Contains(ui.Text("#received-count"), "1 / 1") {
		t.Fatalf("the second reception counts %q", ui.Text("#received-count"))
	}
	ui.Do(chromedp.SetValue(field, "2"))
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible("#flash"))
	same("the late box", map[string]int{fmt.Sprintf("available@%d", n.space.ID): 10})
	if ui.Has("#missing-cards") || ui.Has("#receive") {
		t.Fatal("nothing is missing any more, yet the page says so")
	}
	// Without a count (an API client of before), every card arrives.
	tr2, err := svc.inventory.CreateTransfer(ctx, admin, inventory.NewTransfer{FromSiteID: n.space.ID, ToSiteID: n.warehouse.ID,
		Recharges: []inventory.RechargeLine{{ProductID: product.ID, Quantity: 4}}})
	if err == nil {
		_, err = svc.inventory.ShipTransfer(ctx, admin, tr2.ID)
	}
	if err == nil {
		_, err = svc.inventory.ReceiveTransfer(ctx, admin, tr2.ID, inventory.Scanned{})
	}
	if err != nil {
		t.Fatal(err)
	}
	same("an uncounted reception", map[string]int{fmt.Sprintf("available@%d", n.space.ID): 6, fmt.Sprintf("available@%d", n.warehouse.ID): 4})
	_, err = svc.inventory.ReceiveTransfer(ctx, admin, tr2.ID, inventory.Scanned{Recharges: []inventory.RechargeLine{{ProductID: product.ID, Quantity: -1}}})
	if !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("a negative count: %v", err)
	}
}
