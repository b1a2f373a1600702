package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// TestPrescriberInBrowser is the prescriber's day on the demo network: the
// home page is the voucher form; typing "aich" (no accent, no capital)
// finds Aïcha Benali as one types; a second voucher is issued to her, not
// to a new person; its PDF's barcode decodes to its code; a new person
// with a known name is asked about before being recorded; Jean Dupont, who
// received the network's two devices this year, is flagged before he
// travels; the export downloads and is audited; another organisation's
// prescriber finds neither the person nor the voucher.
func TestPrescriberInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	ctx := context.Background()
	net, ccas, ccasID := demoAccount(t, svc, "ccas@demo.tremplin.local")
	var aicha, jean distribution.Beneficiary
	svc.db.DB.Where("first_name = ?", "Aïcha").Take(&aicha)
	svc.db.DB.Where("first_name = ?", "Jean").Take(&jean)
	if aicha.ID == 0 || jean.ID == 0 {
		t.Fatal("the demo's people are missing")
	}
	// Jean Dupont gets two devices at the Paris space this year: the
	// network's yearly limit (two by default).
	prescriber := partners.Caller{UserID: ccas.ID, Role: partners.RolePrescriber, OrganizationID: ccasID, OrganizationKind: partners.KindPrescriber, Timezone: "Europe/Paris"}
	v, err := svc.distribution.IssueVoucher(ctx, prescriber, distribution.NewVoucher{BeneficiaryID: jean.ID,
		DeviceCategories: []string{"laptop", "tablet"}, Devices: 2, ValidDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	var paris int64
	svc.db.Table("users").Where("email = ?", "belleville@demo.tremplin.local").Pluck("organization_id", &paris)
	var two []inventory.Device
	svc.db.DB.Where("site_id = ? AND state = ? AND category IN ?", paris, inventory.InStock, []string{"laptop", "tablet"}).Limit(2).Find(&two)
	if len(two) != 2 {
		t.Fatalf("%d laptops or tablets in stock at the demo space", len(two))
	}
	admin := partners.Caller{Role: partners.RoleAdmin}
	if _, _, err := svc.distribution.Sell(ctx, admin, "jean-two", distribution.SaleRequest{SiteID: paris, VoucherCode: v.Code, PaymentMethod: "free",
		Items: []distribution.SaleItem{{DeviceID: two[0].ID}, {DeviceID: two[1].ID}}}); err != nil {
		t.Fatal(err)
	}

	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(ccas.Email, ccas.Password)
	ui.Do(chromedp.WaitVisible("#voucher-form"))
	if ui.Focused() != "q" {
		t.Fatalf("the voucher page's focus is on %q, not the name", ui.Focused())
	}
	checkPage(t, ui, "prescriber-issue", "/bons/nouveau")
	ui.Do(chromedp.WaitVisible("#q"), chromedp.Click("#q"))
	ui.Keys("aich")
	// The recent people listed first give way to those who match, as
	// one types (no Enter).
	ui.Do(chromedp.WaitNotPresent(`a[aria-label="Choisir Jean Dupont"]`), chromedp.WaitVisible(`a[aria-label="Choisir Aïcha Benali"]`))
	if found := ui.Text("#found"); !strings.Contains(found, "Déjà suivies") {
		t.Fatalf("the search for aich shows %q", found)
	}
	ui.Shot("prescriber-search")
	ui.Follow(`a[aria-label="Choisir Aïcha Benali"]`)
	if name := ui.Text("#person-name"); name != "Aïcha Benali" {
		t.Fatalf("chosen %q", name)
	}
	if ui.Has("#policy-warning") {
		t.Fatal("Aïcha, who received nothing, is flagged")
	}
	var people int64
	svc.db.Table("beneficiaries").Count(&people)
	start := time.Now()
	ui.ClickText("Créer le bon")
	ui.Do(chromedp.WaitVisible("#code"))
	t.Logf("the voucher page came %s after the click", time.Since(start).Round(time.Millisecond))
	code := ui.Text("#code")
	var after, hers int64
	svc.db.Table("beneficiaries").Count(&after)
	svc.db.Table("vouchers").Where("beneficiary_id = ?", aicha.ID).Count(&hers)
	if after != people || hers != 2 {
		t.Fatalf("after the second voucher: %d people (was %d), Aïcha holds %d vouchers", after, people, hers)
	}
	checkPage(t, ui, "prescriber-voucher", "/bons/"+code)
	cookie := ui.Cookie(sessionCookie)
	symbols := testenv.DecodePDF(t, getPDF(t, h.URL+"/bons/"+code+"/bon.pdf?format=a6", cookie))
	decoded := false
	for _, s := range symbols {
		decoded = decoded || strings.ReplaceAll(s.Data, "-", "") == strings.ReplaceAll(code, "-", "")
	}
	if !decoded {
		t.Fatalf("the A6 voucher's barcodes %v do not carry %s", symbols, code)
	}

	// A new person under a known name is asked about, not recorded.
	ui.Open("/bons/nouveau", "#voucher-form")
	ui.Do(chromedp.SendKeys("#first_name", "aicha"), chromedp.SendKeys("#last_name", "BENALI"))
	ui.ClickText("Créer le bon")
	ui.Do(chromedp.WaitVisible("#similar"))
	svc.db.Table("beneficiaries").Count(&after)
	if after != people || !strings.Contains(ui.Text("#similar"), "Aïcha Benali") {
		t.Fatalf("a known name: %d people (was %d), %q", after, people, ui.Text("#similar"))
	}

	// Jean Dupont is flagged in the search and once chosen.
	ui.Open("/bons/nouveau?q=dupont", "#found")
	if found := ui.Text("#found"); !strings.Contains(found, "limite annuelle atteinte") {
		t.Fatalf("Jean Dupont in the search: %q", found)
	}
	ui.Open("/bons/nouveau?personne="+strconv.FormatInt(jean.ID, 10), "#policy-warning")
	if w := ui.Text("#policy-warning"); !strings.Contains(w, "2 appareil") || !strings.Contains(w, "refusé au comptoir") {
		t.Fatalf("policy warning %q", w)
	}

	// People, a person's page and the export.
	ui.Open("/personnes", "#people")
	checkPage(t, ui, "prescriber-people", "/personnes")
	ui.ClickText("Aïcha Benali")
	ui.Do(chromedp.WaitVisible("#person-vouchers"))
	if forget := ui.Text("#forget"); !strings.Contains(forget, "seront effacés") {
		t.Fatalf("anonymisation said %q", forget)
	}
	checkPage(t, ui, "prescriber-person", "/personnes/"+strconv.FormatInt(aicha.ID, 10))
	exportPath := "/personnes/" + strconv.FormatInt(aicha.ID, 10) + "/export.json"
	req, _ := http.NewRequest("GET", h.URL+exportPath, nil)
	req.AddCookie(cookie)
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var export distribution.Export
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || json.Unmarshal(body, &export) != nil ||
		export.Beneficiary.LastName != "Benali" || len(export.Vouchers) != 2 {
		t.Fatalf("export: %d %q %.300s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	var audited int64
	svc.db.Table("audit_log").Where("action = ? AND entity = ? AND entity_id = ? AND user_id = ?", "beneficiary.export", "beneficiary", strconv.FormatInt(aicha.ID, 10), ccas.ID).Count(&audited)
	if audited != 1 {
		t.Fatalf("%d audit records of the export", audited)
	}
	ui.Open("/bons?q=benal", "#vouchers")
	if rows := ui.Eval(`document.querySelectorAll("#vouchers tbody tr").length`); rows != 2 {
		t.Fatalf("searching benal lists %d vouchers", rows)
	}
	ui.Open("/bons?q="+code[:6], "#vouchers")
	if rows := ui.Eval(`document.querySelectorAll("#vouchers tbody tr").length`); rows != 1 {
		t.Fatalf("searching %s lists %d vouchers", code[:6], rows)
	}

	// Another organisation's prescriber: a 404 page for the person, her
	// export and the voucher, never a glimpse.
	var mission partners.DemoAccount
	for _, a := range net.Accounts {
		if a.Email == "mission@demo.tremplin.local" {
			mission = a
		}
	}
	other := webLogin(t, h, mission.Email, mission.Password)
	for _, path := range []string{"/personnes/" + strconv.FormatInt(aicha.ID, 10), exportPath, "/bons/" + code, "/bons/" + code + "/bon.pdf",
		"/bons/nouveau?personne=" + strconv.FormatInt(aicha.ID, 10)} {
		status, _, body := exchange(t, h, "GET", path, nil, other)
		if status != 404 || strings.Contains(body, "Benali") || strings.Contains(body, "Aïcha") {
			t.Errorf("another organisation's prescriber on %s: %d %.200s", path, status, body)
		}
	}
	if status, _, body := exchange(t, h, "GET", "/personnes?q=aicha", nil, other); status != 200 || strings.Contains(body, "Benali") {
		t.Errorf("another organisation's search for aicha: %d", status)
	}
}
