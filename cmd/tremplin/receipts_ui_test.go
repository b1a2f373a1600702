package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

// TestTaxReceiptFromThePages (issue 28): an admin sets the network's
// identity and the donor's SIREN from their pages (a bad SIREN said in
// French, nothing kept), issues a donation's receipt (a value typed wrong
// refused and kept in the form), prints it (both SIRENs, the value in
// words), cancels it with a reason and issues the next number.
func TestTaxReceiptFromThePages(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	wh, don := warehouseDonation(t, svc, n)
	readyDevice(t, svc, wh, don.ID)
	if _, err := svc.partners.CreateUser(t.Context(), partners.Caller{Role: partners.RoleAdmin}, partners.NewUser{Email: "admin@example.org",
		Name: "Alice Admin", Password: uiPassword, Role: partners.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("admin@example.org", uiPassword)
	page := fmt.Sprintf("/dons/%d", don.ID)
	ui.Open(page, "#receipts-off")
	ui.Open("/admin/reseau", "#network-form")
	ui.Do(chromedp.SendKeys("#legal_name", "Réseau Tremplin"), chromedp.SendKeys("#siren", "123 45"),
		chromedp.SendKeys("#address", "5 rue du Réemploi, 93100 Montreuil"), chromedp.Click("#tax_receipts"))
	ui.Follow("#save-network")
	if msg := ui.Text("#siren-error"); !strings.Contains(msg, "neuf chiffres") {
		t.Fatalf("a bad SIREN: %q", msg)
	}
	ui.Do(chromedp.SetValue("#siren", "123 456 789"))
	ui.Follow("#save-network")
	ui.Do(chromedp.WaitVisible("#flash"))
	checkPage(t, ui, "network identity", "/admin/reseau")
	// A signature required without conditions is refused at the
	// conditions' box; with them, kept (issue 30).
	ui.Do(chromedp.SetValue("#handover", "required"))
	ui.Follow("#save-network")
	if msg := ui.Text("#handover_text-error"); !strings.Contains(msg, "obligatoire") {
		t.Fatalf("a signature required without conditions: %q", msg)
	}
	ui.Do(chromedp.SendKeys("#handover_text", "Je m'engage à ne pas revendre cet appareil."))
	ui.Follow("#save-network")
	ui.Do(chromedp.WaitVisible("#flash"))
	if n, err := svc.partners.NetworkIdentity(t.Context()); err != nil || n.Handover != "required" || !strings.Contains(n.HandoverText, "revendre") {
		t.Fatalf("the network's handover: %+v %v", n, err)
	}
	ui.Open(fmt.Sprintf("/admin/organisations/%d", n.donor.ID), "#siren")
	ui.Do(chromedp.SetValue("#siren", "552100554"), chromedp.SetValue("#address", "2 avenue des Donateurs, 75008 Paris"))
	ui.Follow("#save-organization")
	ui.Open(page, "#receipt-form")
	ui.Do(chromedp.SendKeys("#receipt-value", "quatre cents"), chromedp.SendKeys("#receipt-valuation", "Valeur de revente de matériel reconditionné"))
	ui.Follow("#issue-receipt")
	if msg := ui.Text("#receipt-value-error"); !strings.Contains(msg, "euros") || ui.Value("#receipt-valuation") != "Valeur de revente de matériel reconditionné" {
		t.Fatalf("a value in words: %q", msg)
	}
	ui.Do(chromedp.SetValue("#receipt-value", "450,00"))
	ui.Follow("#issue-receipt")
	year := time.Now().Year()
	if msg := ui.Text("#flash"); !strings.Contains(msg, fmt.Sprintf("%d-0001", year)) {
		t.Fatalf("issued: %q", msg)
	}
	ui.Shot("admin-tax-receipt")
	checkPage(t, ui, "donation with its receipt", page)
	text := testenv.PDFText(t, getPDF(t, h.URL+page+"/recu-fiscal.pdf", ui.Cookie(sessionCookie)))
	for _, want := range []string{"123456789", "552100554", "quatre cent cinquante euros", "article 238 bis", "1 smartphone"} {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			t.Errorf("the receipt lacks %q:\n%s", want, text)
		}
	}
	ui.Do(chromedp.Click("#cancel-receipt"), chromedp.WaitVisible("#cancel-reason"), chromedp.SendKeys("#cancel-reason", "valeur mal saisie"))
	ui.Follow("#confirm-cancel-receipt")
	if !strings.Contains(ui.Text("#tax-receipt"), "annulé : valeur mal saisie") {
		t.Fatalf("after the cancel: %q", ui.Text("#tax-receipt"))
	}
	ui.Do(chromedp.SetValue("#receipt-value", "420"), chromedp.SendKeys("#receipt-valuation", "Valeur corrigée"))
	ui.Follow("#issue-receipt")
	if msg := ui.Text("#flash"); !strings.Contains(msg, fmt.Sprintf("%d-0002", year)) {
		t.Fatalf("the next receipt: %q", msg)
	}
	// The donor's pack lists the donation with its certificate and its receipt.
	ui.Open(fmt.Sprintf("/admin/organisations/%d", n.donor.ID), "#donor-pack")
	ui.Follow("#donor-pack")
	if got := ui.Text("#donation-list"); !strings.Contains(got, fmt.Sprintf("n° %d-0002", year)) || !strings.Contains(got, "PDF") {
		t.Fatalf("the donor's pack: %q", got)
	}
	checkPage(t, ui, "donor pack", fmt.Sprintf("/dons?donateur=%d", n.donor.ID))
}
