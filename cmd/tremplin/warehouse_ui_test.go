package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
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

// warehouseNetwork is a warehouse with a volunteer, a space to ship to, a
// donor, a price grid, and another warehouse with a device of its own
// that must never show.
type warehouseNetwork struct {
	warehouse, space, donor, other partners.Organization
	foreignTag                     string
	foreignDonation                int64
}

const uiPassword = "mot de passe sûr"

func newWarehouseNetwork(t *testing.T, svc *app) warehouseNetwork {
	t.Helper()
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	var n warehouseNetwork
	for _, o := range []struct {
		dst  *partners.Organization
		kind partners.Kind
		name string
	}{{&n.warehouse, partners.KindWarehouse, "Entrepôt de Montreuil"}, {&n.space, partners.KindSpace, "Espace Belleville"},
		{&n.donor, partners.KindDonor, "Fondation Orange"}, {&n.other, partners.KindWarehouse, "Entrepôt de Lyon"}} {
		org, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: o.kind, Name: o.name})
		if err != nil {
			t.Fatal(err)
		}
		*o.dst = org
	}
	for _, u := range []partners.NewUser{
		{Email: "marc@example.org", Name: "Marc Dubois", Password: uiPassword, Role: partners.RoleWarehouse, OrganizationID: &n.warehouse.ID},
		{Email: "lyon@example.org", Name: "Léa Lyon", Password: uiPassword, Role: partners.RoleWarehouse, OrganizationID: &n.other.ID},
	} {
		if _, err := svc.partners.CreateUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.inventory.SetPriceGrid(ctx, admin, map[string]map[string]int64{"smartphone": {"A": 4500, "B": 3500}}); err != nil {
		t.Fatal(err)
	}
	lyon := partners.Caller{UserID: 2, Role: partners.RoleWarehouse, OrganizationID: n.other.ID, OrganizationKind: partners.KindWarehouse}
	don, err := svc.inventory.CreateDonation(ctx, lyon, inventory.NewDonation{DonorID: n.donor.ID, WarehouseID: n.other.ID})
	if err != nil {
		t.Fatal(err)
	}
	serial := "LYON-SECRET-1"
	d, err := svc.inventory.RegisterDevice(ctx, lyon, inventory.NewDevice{DonationID: don.ID, Category: inventory.Laptop, Brand: "Dell", Model: "Latitude", Serial: &serial})
	if err != nil {
		t.Fatal(err)
	}
	n.foreignTag, n.foreignDonation = d.Tag, don.ID
	return n
}

var intakeIMEIs = []string{"356938035643809", "490154203237518", "353879234252633"}

// TestWarehouseBenchInBrowser drives a warehouse volunteer's day in
// Chromium: a donation's devices registered by typing IMEIs and Enter,
// their labels printed and decoded, a device taken to ready with the
// keyboard and another with command cards, a refused step said in French,
// a transfer made by scanning and shipped, a stock check; another
// warehouse's data never shows. Each step is checked in the database too.
func TestWarehouseBenchInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	device := func(tag string) inventory.Device {
		t.Helper()
		var d inventory.Device
		if err := svc.db.DB.Where("tag = ?", tag).Take(&d).Error; err != nil {
			t.Fatalf("device %s: %v", tag, err)
		}
		return d
	}

	// The home page of the warehouse is the scan station.
	ui.Login("marc@example.org", uiPassword)
	ui.Do(chromedp.WaitVisible("#scan-form"))
	if got := ui.Text("#top-where"); got != "Entrepôt de Montreuil" {
		t.Fatalf("top bar says %q", got)
	}
	if ui.Focused() != "code" {
		t.Fatalf("the scan field does not hold the focus (%q does)", ui.Focused())
	}

	// A donation, then its devices by scanning.
	ui.ClickText("Dons")
	ui.Do(chromedp.WaitVisible("#donation-form"), chromedp.SetValue("#donor_id", strconv.FormatInt(n.donor.ID, 10)),
		chromedp.SendKeys("#note", "Collecte de novembre"))
	ui.ClickText("Enregistrer le don")
	ui.Do(chromedp.WaitVisible("#intake-form"))
	ui.Do(chromedp.SetValue("#category", "smartphone"), chromedp.SendKeys("#brand", "Samsung"), chromedp.SendKeys("#model", "Galaxy A12"),
		chromedp.SendKeys("#code", intakeIMEIs[0]+"\r"), chromedp.WaitVisible("#donation-devices"))
	if ui.Focused() != "code" {
		t.Fatalf("after a registration the focus is on %q, not the scan field", ui.Focused())
	}
	ui.Scan(intakeIMEIs[1], "#flash")
	ui.Scan(intakeIMEIs[2], "#flash")
	var tags []string
	if err := svc.db.Table("devices").Where("imei IN ?", intakeIMEIs).Order("id").Pluck("tag", &tags).Error; err != nil || len(tags) != 3 {
		t.Fatalf("registered %v (%v)", tags, err)
	}
	if got := ui.Text("#total"); got != "3" {
		t.Fatalf("the donation counts %q devices", got)
	}
	if !strings.Contains(ui.Text("#flash"), tags[2]+" enregistré") {
		t.Fatalf("status area: %q", ui.Text("#flash"))
	}
	// A misread IMEI is refused next to the field, and nothing is recorded.
	ui.Scan("356938035643808", "#code-error")
	if msg := ui.Text("#code-error"); !strings.Contains(msg, "n'est pas un IMEI") {
		t.Fatalf("bad IMEI message %q", msg)
	}
	var count int64
	svc.db.Table("devices").Where("donation_id = (SELECT donation_id FROM devices WHERE tag = ?)", tags[0]).Count(&count)
	if count != 3 {
		t.Fatalf("%d devices after a refused scan", count)
	}
	ui.Shot("warehouse-donation")
	checkPage(t, ui, "donation", "/dons/"+strconv.FormatInt(device(tags[0]).DonationID, 10))

	// Labels on an A4 sheet of 3 × 8, five positions already used.
	ui.ClickText("Imprimer les étiquettes de ce don")
	ui.Do(chromedp.WaitVisible("#layout-form"), chromedp.SetValue("#layout", "a4-3x8"), chromedp.SetValue("#offset", "5"))
	ui.ClickText("Voir sur la planche")
	ui.Do(chromedp.WaitVisible("#sheet"))
	if used, labels := ui.Eval(`document.querySelectorAll("#sheet .used").length`), ui.Eval(`document.querySelectorAll("#sheet .label").length`); used != 5 || labels != 3 {
		t.Fatalf("sheet picture: %d used, %d labels", used, labels)
	}
	if target := ui.Eval(`document.querySelector("#labels-form").target === "_blank" ? 1 : 0`); target != 1 {
		t.Fatal("the labels' PDF does not open in a new tab")
	}
	ui.Shot("warehouse-labels")
	checkPage(t, ui, "labels", "/etiquettes?layout=a4-3x8&offset=5&don="+strconv.FormatInt(device(tags[0]).DonationID, 10))
	form := url.Values{"layout": {"a4-3x8"}, "offset": {"5"}}
	for _, tag := range tags {
		form.Add("device_id", strconv.FormatInt(device(tag).ID, 10))
	}
	pdf := postForPDF(t, h.URL+"/etiquettes/planche.pdf", form, ui.Cookie(sessionCookie))
	var decoded []string
	for _, s := range testenv.DecodePDF(t, pdf) {
		decoded = append(decoded, s.Data)
	}
	for _, tag := range tags {
		if !slices.Contains(decoded, tag) {
			t.Fatalf("label %s not decoded from the sheet (found %v)", tag, decoded)
		}
	}

	// The first device, keyboard only: its tag, then the shortcuts typed in
	// the scan field (the first erasure asks for the method, typed + Enter).
	ui.Open("/poste", "#scan-form")
	ui.Scan(tags[0], "#device")
	ui.Scan("B", "#lock-step")
	if d := device(tags[0]); d.State != inventory.Received {
		t.Fatalf("a grade without its lock checks recorded a diagnosis: %s", d.State)
	}
	ui.Scan("LIBRE", "#flash")
	if msg := ui.Text("#flash"); !strings.Contains(msg, "grade B, aucun verrou") {
		t.Fatalf("after LIBRE: %q", msg)
	}
	if d := device(tags[0]); d.State != inventory.Diagnosed || d.Grade == nil || *d.Grade != "B" {
		t.Fatalf("after B: %s grade %v", d.State, d.Grade)
	}
	ui.Scan("OK", "#erase-method")
	if ui.Focused() != "erase-method" {
		t.Fatalf("the erasure's method field is not focused (%q is)", ui.Focused())
	}
	ui.Scan("Blancco Mobile Diagnostics", "#flash")
	ui.Scan("PRET", "#flash")
	if d := device(tags[0]); d.State != inventory.Ready || d.PriceCents == nil || *d.PriceCents != 3500 {
		t.Fatalf("keyboard path: %s at %v", d.State, d.PriceCents)
	}
	if msg := ui.Text("#flash"); !strings.Contains(msg, "35,00\u202f€") {
		t.Fatalf("ready message %q", msg)
	}
	ui.Shot("warehouse-station")
	checkPage(t, ui, "station", "/poste?code="+tags[0])

	// The second device with the command cards' codes; the erasure reuses
	// the method of the last one.
	ui.Scan(tags[1], "#device")
	ui.Scan("CMD-DIAG-A", "#lock-step")
	for _, cmd := range []string{"CMD-LOCK-NONE", "CMD-ERASE-OK", "CMD-READY"} {
		ui.Scan(cmd, "#flash")
	}
	if d := device(tags[1]); d.State != inventory.Ready || *d.PriceCents != 4500 || d.ErasureMethod == nil || *d.ErasureMethod != "Blancco Mobile Diagnostics" {
		t.Fatalf("command cards: %s at %v by %v", d.State, d.PriceCents, d.ErasureMethod)
	}
	sheet := getPDF(t, h.URL+"/poste/commandes.pdf", ui.Cookie(sessionCookie))
	var cards []string
	for _, s := range testenv.DecodePDF(t, sheet) {
		cards = append(cards, s.Data)
	}
	for _, c := range inventory.Commands {
		if !slices.Contains(cards, c.Code) {
			t.Fatalf("command %s not decoded from the cards (found %v)", c.Code, cards)
		}
	}

	// A refused step says why, in French, and changes nothing.
	ui.Scan(tags[2], "#device")
	ui.Scan("PRET", "#flash")
	if msg := ui.Text("#flash"); !strings.Contains(msg, "non fait") || !strings.Contains(msg, "« Reçu »") {
		t.Fatalf("refusal says %q", msg)
	}
	if d := device(tags[2]); d.State != inventory.Received {
		t.Fatalf("a refused step moved the device to %s", d.State)
	}

	// A voucher's code says it belongs at a counter.
	voucher, err := distribution.NewCode()
	if err != nil {
		t.Fatal(err)
	}
	ui.Scan(distribution.FormatCode(voucher), "#scan-voucher")

	// Another warehouse's device is unknown here, and its donation not found.
	ui.Scan(n.foreignTag, "#scan-unknown")
	ui.Open("/appareils?q=LYON", "#device-filter")
	if ui.Has("#device-list") {
		t.Fatal("another warehouse's device is listed")
	}
	ui.Open("/dons/"+strconv.FormatInt(n.foreignDonation, 10), "#error-message")

	// A transfer made by scanning: the ready device goes on, the received
	// one is refused with the reason; then shipped.
	ui.Open("/transferts/nouveau", "#transfer-form")
	ui.Do(chromedp.SetValue("#to_site_id", strconv.FormatInt(n.space.ID, 10)), chromedp.Focus("#code"))
	ui.Scan(tags[0], "#scan-added")
	ui.Scan(tags[2], "#scan-error")
	if msg := ui.Text("#scan-error"); !strings.Contains(msg, "seuls les appareils prêts") {
		t.Fatalf("transfer refusal says %q", msg)
	}
	if got := ui.Text("#device-count"); got != "1" {
		t.Fatalf("the draft holds %s devices", got)
	}
	checkPage(t, ui, "transfer", "/transferts/nouveau")
	ui.ClickText("Créer le transfert")
	ui.Do(chromedp.WaitVisible("#transfer-status"))
	ui.ClickText("Expédier")
	ui.Do(chromedp.WaitVisible("#flash"))
	if got := ui.Text("#transfer-status"); got != "Expédié" {
		t.Fatalf("transfer status %q", got)
	}
	if d := device(tags[0]); d.State != inventory.InTransit {
		t.Fatalf("shipped device is %s", d.State)
	}
	ui.Shot("warehouse-transfer")

	// A stock check: the shelf holds the second device and an unknown code;
	// the third device is missing.
	ui.Open("/inventaire", "#shelf-form")
	ui.Scan(tags[1], "#scan-added")
	ui.Scan("INCONNU-42", "#scan-added")
	if got := ui.Text("#scanned-count"); got != "2" {
		t.Fatalf("running count %s", got)
	}
	checkPage(t, ui, "stock-check", "/inventaire")
	ui.ClickText("Terminer l'inventaire")
	ui.Do(chromedp.WaitVisible("#missing"))
	if missing, unexpected := ui.Text("#missing tbody"), ui.Text("#unexpected"); !strings.Contains(missing, tags[2]) || strings.Contains(missing, tags[1]) || !strings.Contains(unexpected, "INCONNU-42") {
		t.Fatalf("stock check: missing %q, unexpected %q", missing, unexpected)
	}
	ui.Shot("warehouse-stock-check")
	var checks int64
	svc.db.Table("stock_checks").Where("site_id = ?", n.warehouse.ID).Count(&checks)
	if checks != 1 {
		t.Fatalf("%d stock checks recorded", checks)
	}

	// The shelf: the second device ready, the third received (the first
	// is in transit, no longer on it).
	ui.Open("/stock", "#device-stock")
	if row := ui.Text("#device-stock tbody"); !strings.Contains(row, "Smartphone") || !strings.HasSuffix(row, "2") {
		t.Fatalf("stock row %q", row)
	}
	checkPage(t, ui, "stock", "/stock")

	// Every other page of the bench: light, and whole at 390 px.
	var transferID, checkID int64
	svc.db.Table("transfers").Select("MAX(id)").Scan(&transferID)
	svc.db.Table("stock_checks").Select("MAX(id)").Scan(&checkID)
	for _, path := range []string{"/dons", "/appareils", "/appareils/" + tags[2], "/etiquettes", "/transferts",
		"/transferts/" + strconv.FormatInt(transferID, 10), "/inventaire/" + strconv.FormatInt(n.warehouse.ID, 10) + "/" + strconv.FormatInt(checkID, 10)} {
		ui.Open(path, "main h1")
		weight, _ := testenv.PageWeight(t, ui.Base, path, ui.Cookie(sessionCookie))
		if weight > 150_000 {
			t.Errorf("%s weighs %d bytes with its assets", path, weight)
		}
		if over := ui.Narrow(); over > 0 {
			t.Errorf("%s scrolls %d px sideways at 390 px", path, over)
		}
		ui.Wide()
	}
}

// checkPage runs axe-core on the page (no serious or critical violation),
// weighs it with its assets (under 150 KB compressed) and looks at it
// 390 px wide (no sideways scrolling).
func checkPage(t *testing.T, ui *testenv.UI, name, path string) {
	t.Helper()
	for _, v := range ui.Axe() {
		for _, node := range v.Nodes {
			t.Errorf("%s: axe %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, node.Target)
		}
	}
	weight, parts := testenv.PageWeight(t, ui.Base, path, ui.Cookie(sessionCookie))
	t.Logf("%s: %d bytes on the wire with its assets %v", name, weight, parts)
	if weight > 150_000 {
		t.Errorf("%s weighs %d bytes with its assets", name, weight)
	}
	if over := ui.Narrow(); over > 0 {
		ui.Shot(name + "-390-overflow")
		t.Errorf("%s scrolls %d px sideways at 390 px", name, over)
	}
	// Axe again at a phone's width: what scrolls there must be reachable
	// with the keyboard (issue 27, item 17).
	for _, v := range ui.Axe() {
		for _, node := range v.Nodes {
			t.Errorf("%s at 390 px: axe %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, node.Target)
		}
	}
	ui.Shot(name + "-390")
	ui.Wide()
}

func postForPDF(t *testing.T, target string, form url.Values, cookie *http.Cookie) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return pdfResponse(t, req, cookie)
}

func getPDF(t *testing.T, target string, cookie *http.Cookie) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return pdfResponse(t, req, cookie)
}

func pdfResponse(t *testing.T, req *http.Request, cookie *http.Cookie) []byte {
	t.Helper()
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return []byte(b.String())
}

// TestCameraScanInBrowser: Chromium's camera is a video of a device's
// label rendered by Tremplin; pressing "Scanner avec la caméra" at the scan
// station decodes it (with the vendored polyfill: Chromium on Linux has no
// native BarcodeDetector), fills the scan field, and shows the device.
func TestCameraScanInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	ctx := context.Background()
	marc := partners.Caller{UserID: 1, Role: partners.RoleWarehouse, OrganizationID: n.warehouse.ID, OrganizationKind: partners.KindWarehouse}
	don, err := svc.inventory.CreateDonation(ctx, marc, inventory.NewDonation{DonorID: n.donor.ID, WarehouseID: n.warehouse.ID})
	if err != nil {
		t.Fatal(err)
	}
	imei := intakeIMEIs[0]
	d, err := svc.inventory.RegisterDevice(ctx, marc, inventory.NewDevice{DonationID: don.ID, Category: inventory.Smartphone, Brand: "Nokia", Model: "G21", IMEI: &imei})
	if err != nil {
		t.Fatal(err)
	}
	label, err := svc.inventory.Labels(ctx, marc, inventory.LabelRequest{DeviceIDs: []int64{d.ID}, Layout: "brother-62x29"})
	if err != nil {
		t.Fatal(err)
	}
	picture := testenv.ReadPNG(t, testenv.RenderPNG(t, label, 200, t.TempDir(), "label"))
	ui := testenv.NewUI(t, h.URL, 30*time.Second, testenv.FakeCamera(t, picture)...)
	ui.Login("marc@example.org", uiPassword)
	ui.Do(chromedp.WaitVisible("#scan-form"), chromedp.WaitVisible("button[data-camera]"))
	native := ui.Eval(`typeof BarcodeDetector === "undefined" ? 0 : 1`)
	t.Logf("native BarcodeDetector: %v (else the vendored polyfill decodes)", native == 1)
	ui.ClickText("Scanner avec la caméra")
	ui.Do(chromedp.WaitVisible("#device"))
	if got := ui.Text("#device-tag"); got != d.Tag {
		t.Fatalf("the camera found %q, want %s", got, d.Tag)
	}
	if got := ui.Value("#code"); got != d.Tag {
		t.Fatalf("the scan field holds %q", got)
	}
	ui.Shot("warehouse-camera")
}
