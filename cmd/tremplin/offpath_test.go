package main

// Tests for what volunteers hit off the main path (issue 27), written as
// the careless user: the scanner types into whatever holds the focus.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// TestRecycleIsAskedByScans: RECYC asks for a reason card and keeps the
// focus in the scan field; the next device scanned is looked up, never
// taken as the reason; a reason card then RECYC again recycles; a typed
// reason that is a scan is refused; the device page refuses it too. Before,
// the focus went to « Pourquoi le recycler », the next tag scanned became
// the reason and the wrong device was recycled for good.
func TestRecycleIsAskedByScans(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	ctx := context.Background()
	wh, don := warehouseDonation(t, svc, n)
	var tags []string
	for _, c := range []inventory.Category{inventory.Desktop, inventory.Tablet, inventory.Smartphone} {
		d, err := svc.inventory.RegisterDevice(ctx, wh, inventory.NewDevice{DonationID: don.ID, Category: c, Brand: "Marque", Model: "Modèle"})
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, d.Tag)
	}
	state := func(tag string) (inventory.State, string) {
		t.Helper()
		var d inventory.Device
		if err := svc.db.DB.Where("tag = ?", tag).Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		var data string
		svc.db.Table("device_events").Where("device_id = ? AND action = ?", d.ID, "recycle").Pluck("data", &data)
		var ev struct{ Reason string }
		_ = json.Unmarshal([]byte(data), &ev)
		return d.State, ev.Reason
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Do(chromedp.WaitVisible("#scan-form"))

	// RECYC, then the next device instead of a reason: it is looked up.
	ui.Scan(tags[0], "#device")
	ui.Scan("RECYC", "#recycle-step")
	if ui.Focused() != "code" {
		t.Fatalf("after RECYC the focus is on %q, not the scan field", ui.Focused())
	}
	ui.Shot("station-recycle-reason")
	checkPage(t, ui, "station recycling", "/poste?code="+tags[0]+"&recyclage=motif")
	ui.Scan(tags[1], "#device")
	if ui.Has("#recycle-step") || !strings.Contains(ui.Text("#device"), tags[1]) {
		t.Fatalf("the next scan did not show %s", tags[1])
	}
	if s, _ := state(tags[0]); s != inventory.Received {
		t.Fatalf("%s is %s after RECYC and another scan", tags[0], s)
	}

	// A reason card, then another device: still nothing done.
	ui.Scan(tags[0], "#device")
	ui.Scan("RECYC", "#recycle-step")
	ui.Scan("IRREP", "#submit-confirm-recycle")
	if ui.Focused() != "code" || !strings.Contains(ui.Text("#recycle-step"), "irréparable") {
		t.Fatalf("confirmation step: focus %q, %q", ui.Focused(), ui.Text("#recycle-step"))
	}
	ui.Shot("station-recycle-confirm")
	ui.Scan(tags[1], "#device")
	if s, _ := state(tags[0]); s != inventory.Received {
		t.Fatalf("%s is %s before its confirmation", tags[0], s)
	}

	// RECYC, a reason card, RECYC again: recycled with that reason.
	ui.Scan(tags[0], "#device")
	ui.Scan("RECYC", "#recycle-step")
	ui.Scan("CMD-WHY-BROKEN", "#submit-confirm-recycle")
	ui.Scan("CMD-RECYCLE", "#flash")
	if s, reason := state(tags[0]); s != inventory.Recycled || reason != "irréparable" {
		t.Fatalf("%s: %s, reason %q", tags[0], s, reason)
	}

	// A reason card out of turn is said, and does nothing.
	ui.Scan(tags[1], "#device")
	ui.Scan("OBSO", "#flash")
	if !strings.Contains(ui.Text("#flash"), "RECYC") {
		t.Fatalf("a reason card alone: %q", ui.Text("#flash"))
	}

	// A reason typed: a scan into that field is refused, words go on.
	ui.Scan("RECYC", "#recycle-step")
	ui.Do(chromedp.Click("#reason-words"))
	ui.Scan(tags[2], "#reason-error")
	if s, _ := state(tags[1]); s != inventory.Received {
		t.Fatalf("%s is %s after a scan into the reason", tags[1], s)
	}
	ui.Do(chromedp.Click("#reason-words"))
	ui.Scan("écran cassé", "#submit-confirm-recycle")
	ui.ClickText("Confirmer le recyclage")
	ui.Do(chromedp.WaitVisible("#flash"))
	if s, reason := state(tags[1]); s != inventory.Recycled || reason != "écran cassé" {
		t.Fatalf("%s: %s, reason %q", tags[1], s, reason)
	}

	// The first erasure asks its method in a field: the next device's tag
	// scanned into it is refused, the tool's name is taken.
	ui.Scan(tags[2], "#device")
	ui.Scan("A", "#lock-step")
	ui.Scan("LIBRE", "#flash")
	ui.Scan("OK", "#erase-method")
	ui.Scan(tags[0], "#flash")
	if s, _ := state(tags[2]); s != inventory.Diagnosed || !strings.Contains(ui.Text("#flash"), "ressemble à un code") {
		t.Fatalf("%s: %s after a scan into the erasure method; %q", tags[2], s, ui.Text("#flash"))
	}
	ui.Do(chromedp.Click("#erase-method"))
	ui.Scan("nwipe 0.34", "#flash")
	if s, _ := state(tags[2]); s != inventory.Erased {
		t.Fatalf("%s: %s after the method typed", tags[2], s)
	}

	// The device page's form refuses a scanned reason too.
	cookie := ui.Cookie(sessionCookie)
	page := bodyOf(t, noRedirect(t, "GET", h.URL+"/appareils/"+tags[2], nil, cookie))
	key := formKeyField.FindStringSubmatch(page)
	if key == nil {
		t.Fatal("the device page has no form key")
	}
	resp := noRedirect(t, "POST", h.URL+"/appareils/"+tags[2]+"/action",
		url.Values{"form_key": {key[1]}, "action": {"recycle"}, "reason": {tags[0]}, "back": {"/appareils/" + tags[2]}}, cookie)
	resp.Body.Close()
	if s, _ := state(tags[2]); s != inventory.Erased {
		t.Fatalf("%s recycled with a scanned reason: %s", tags[2], s)
	}
}

// TestCounterVoucherStepKnowsADevice: at the counter's voucher step, a
// device's tag says it is a device (scan the voucher first) and something
// else that is not a voucher's code says so; neither counts toward the
// limit of unknown codes, so 25 of them leave the counter open to the
// person's voucher. Only a code shaped like a voucher's counts. Before, the
// 21st tag scanned first locked the counter user out for 15 minutes.
func TestCounterVoucherStepKnowsADevice(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, siteID := demoAccount(t, svc, "belleville@demo.tremplin.local")
	code, _, _ := strings.Cut(net.Vouchers[0], " ")
	var phone inventory.Device
	if err := svc.db.DB.Where("site_id = ? AND state = ?", siteID, inventory.InStock).Take(&phone).Error; err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Do(chromedp.WaitVisible("#till"))
	ui.Scan(phone.Tag, "#till-error")
	if msg := ui.Text("#till-error"); !strings.Contains(msg, "est un appareil") || ui.Focused() != "code" {
		t.Fatalf("a device at the voucher step: %q, focus on %q", msg, ui.Focused())
	}
	ui.Shot("counter-device-first")
	checkPage(t, ui, "counter, device first", "/caisse")
	ui.Scan("CMD-DIAG-A", "#till-error")
	ui.Scan("X#É!!ZZ", "#till-error")
	if msg := ui.Text("#till-error"); !strings.Contains(msg, "n'est pas le code d'un bon") {
		t.Fatalf("garbage at the voucher step: %q", msg)
	}
	cookie := ui.Cookie(sessionCookie)
	for range 25 {
		status, body := submit(t, h, "/caisse", url.Values{"code": {phone.Tag}}, cookie)
		if status != 422 || !strings.Contains(body, "est un appareil") {
			t.Fatalf("device tag at the voucher step: %d %.300s", status, body)
		}
	}
	var counted int64
	svc.db.Table("audit_log").Where("action = ?", "voucher.lookup_failed").Count(&counted)
	if counted != 0 {
		t.Fatalf("%d failed lookups counted for devices scanned first", counted)
	}
	// A mistyped voucher's code does count; the right one still opens.
	wrong := "2"
	if strings.HasSuffix(code, wrong) {
		wrong = "3"
	}
	ui.Scan(code[:len(code)-1]+wrong, "#till-error")
	svc.db.Table("audit_log").Where("action = ?", "voucher.lookup_failed").Count(&counted)
	if counted != 1 {
		t.Fatalf("%d failed lookups after a mistyped voucher code, want 1", counted)
	}
	ui.Scan(code, "#voucher")
}

var deviceLink = regexp.MustCompile(`href="/appareils/([A-Z0-9-]+)"`)

// TestSpaceOpensItsDevices: every device link the devices page offers a
// space opens that device's page and history (a warranty return needs
// them); another site's device stays unknown. Before, every link answered
// 403: the page asked for the warehouse's donation and expected only 404.
func TestSpaceOpensItsDevices(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	_, space, siteID := demoAccount(t, svc, "belleville@demo.tremplin.local")
	cookie := webLogin(t, h, space.Email, space.Password)
	status, _, list := exchange(t, h, "GET", "/appareils", nil, cookie)
	links := deviceLink.FindAllStringSubmatch(list, -1)
	if status != 200 || len(links) == 0 {
		t.Fatalf("devices page: %d, %d links", status, len(links))
	}
	for _, m := range links {
		status, _, body := exchange(t, h, "GET", "/appareils/"+m[1], nil, cookie)
		if status != 200 || !strings.Contains(body, m[1]) {
			t.Errorf("%s: %d", m[1], status)
		}
	}
	var elsewhere string
	svc.db.Table("devices").Where("site_id <> ?", siteID).Limit(1).Pluck("tag", &elsewhere)
	if status, _, _ := exchange(t, h, "GET", "/appareils/"+elsewhere, nil, cookie); status != 404 {
		t.Fatalf("another site's device %s: %d", elsewhere, status)
	}
}

// TestBackAfterASaleShowsTheSale: after a sale, the back button shows the
// basket again; paying it again, or adding to it, leads to the sale made,
// said in French, and sells nothing twice. Before, the sold phone came back
// into the basket and the payment answered in English that the key « was
// used for another sale ».
func TestBackAfterASaleShowsTheSale(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, siteID := demoAccount(t, svc, "belleville@demo.tremplin.local")
	code, _, _ := strings.Cut(net.Vouchers[0], " ")
	var phone inventory.Device
	if err := svc.db.DB.Where("site_id = ? AND state = ? AND category = ?", siteID, inventory.InStock, inventory.Smartphone).Take(&phone).Error; err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Do(chromedp.WaitVisible("#till"))
	ui.Scan(code, "#voucher")
	ui.Scan(phone.Tag, "#till-added")
	key := ui.Value(`input[name="key"]`)
	ui.ClickText("Espèces")
	ui.Do(chromedp.WaitVisible("#sale-done"))
	salePage := ui.Location()
	// The browser sends the paid basket again, as « Confirm form
	// resubmission » after the back button does.
	ui.Open("/caisse", "#till")
	resubmit := fmt.Sprintf(`(() => {
		const f = document.createElement("form"); f.method = "post"; f.action = "/caisse";
		for (const [k, v] of [["voucher", %q], ["key", %q], ["device", %q], ["pay", "cash"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit(); return 1;
	})()`, code, key, phone.Tag)
	ui.Eval(resubmit)
	ui.Do(chromedp.WaitVisible("#sale-done"))
	if ui.Location() != salePage || !strings.Contains(ui.Text("#flash"), "déjà faite") {
		t.Fatalf("paid again after back: at %s, %q", ui.Location(), ui.Text("#flash"))
	}
	// Any change to that basket leads there too.
	cookie := ui.Cookie(sessionCookie)
	for _, form := range []url.Values{
		{"voucher": {code}, "key": {key}, "device": {phone.Tag}, "code": {phone.Tag}},
		{"voucher": {code}, "key": {key}, "device": {phone.Tag}, "pay": {"card"}},
	} {
		r := noRedirect(t, "POST", h.URL+"/caisse", form, cookie)
		r.Body.Close()
		if u, _ := url.Parse(salePage); r.StatusCode != 303 || r.Header.Get("Location") != u.Path {
			t.Fatalf("the done basket sent again: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
	}
	var sales int64
	svc.db.Table("sales").Count(&sales)
	if sales != 1 {
		t.Fatalf("%d sales", sales)
	}
}

// TestRefundShows: a refund sent without ticking the device is refused in
// French with the typed reason kept; once refunded, the sale's page says
// the amount to hand back, when and by whom, marks the device refunded and
// offers no second refund of it. Before, the page still said « Vendu :
// 37,00 € », kept its refund form, and the refusal was English and lost the
// reason.
func TestRefundShows(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, siteID := demoAccount(t, svc, "belleville@demo.tremplin.local")
	code, _, _ := strings.Cut(net.Vouchers[0], " ")
	var phone inventory.Device
	if err := svc.db.DB.Where("site_id = ? AND state = ? AND category = ?", siteID, inventory.InStock, inventory.Smartphone).Take(&phone).Error; err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Do(chromedp.WaitVisible("#till"))
	ui.Scan(code, "#voucher")
	ui.Scan(phone.Tag, "#till-added")
	ui.ClickText("Recharge")
	ui.ClickText("Espèces")
	ui.Do(chromedp.WaitVisible("#refund-form"))
	ui.Do(chromedp.SendKeys("#refund-reason", "L'écran ne s'allume plus"))
	ui.ClickText("Rembourser")
	ui.Do(chromedp.WaitVisible("#refund-error"))
	if msg, kept := ui.Text("#refund-error"), ui.Value("#refund-reason"); !strings.Contains(msg, "cochez les appareils") || kept != "L'écran ne s'allume plus" {
		t.Fatalf("refund without a device: %q, reason kept %q", msg, kept)
	}
	ui.Do(chromedp.Click(`#refund-form input[name="device_id"]`))
	ui.ClickText("Rembourser")
	ui.Do(chromedp.WaitVisible("#refunds"))
	ui.Shot("sale-refunded")
	salePage, _ := url.Parse(ui.Location())
	checkPage(t, ui, "refunded sale", salePage.Path)
	price := fmt.Sprintf("%d,%02d\u202f€", *phone.PriceCents/100, *phone.PriceCents%100)
	if got := ui.Text("#refunds"); !strings.Contains(got, price) || !strings.Contains(got, "Chloé Martin") || !strings.Contains(got, phone.Tag) {
		t.Fatalf("refunds say %q (price %s)", got, price)
	}
	if !strings.Contains(ui.Text("#sale-items"), "remboursé") || ui.Has("#refund-form") {
		t.Fatal("the refunded device is not marked, or a second refund is offered")
	}
}

// TestClosedDaySaidAtTheCounter: once the day's till is closed, the counter
// says so as soon as it opens, and a voucher scanned then is not taken.
// Before, vouchers were taken and the refusal came at the first device.
func TestClosedDaySaidAtTheCounter(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, siteID := demoAccount(t, svc, "belleville@demo.tremplin.local")
	code, _, _ := strings.Cut(net.Vouchers[0], " ")
	var uid int64
	svc.db.Table("users").Where("email = ?", space.Email).Pluck("id", &uid)
	caller := partners.Caller{UserID: uid, Role: partners.RoleSpace, OrganizationID: siteID, OrganizationKind: partners.KindSpace, Timezone: "Europe/Paris"}
	paris, _ := time.LoadLocation("Europe/Paris")
	today := time.Now().In(paris).Format(time.DateOnly)
	if _, err := svc.distribution.RecordClosing(context.Background(), caller, siteID, today, 0); err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Do(chromedp.WaitVisible("#till-closed"))
	if msg := ui.Text("#till-closed"); !strings.Contains(msg, "close") || !strings.Contains(msg, "demain") {
		t.Fatalf("closed day says %q", msg)
	}
	ui.Shot("counter-closed")
	checkPage(t, ui, "counter, day closed", "/caisse")
	ui.Scan(code, "#till-closed")
	if ui.Has("#voucher") {
		t.Fatal("a voucher was taken on a closed day")
	}
}

// TestNewUserTakesTheOrganisationsRole: the new-user form has no default
// role; an account made for a space with the role left as it is becomes
// space staff; the network admin role with a space is refused naming the
// role that fits. Before, the form defaulted to network admin, and its
// advice (« laissez ce champ vide ») made a network admin of a space's staff.
func TestNewUserTakesTheOrganisationsRole(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	_, admin, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	var belleville int64
	svc.db.Table("organizations").Where("name LIKE ?", "%Belleville%").Pluck("id", &belleville)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(admin.Email, admin.Password)
	ui.Open("/admin/utilisateurs/nouveau", "#user-form")
	if role := ui.Value("#role"); role != "" {
		t.Fatalf("the role starts as %q", role)
	}
	ui.Do(chromedp.SendKeys("#name", "Inès Bénévole"), chromedp.SendKeys("#email", "ines@example.org"),
		chromedp.SetValue("#organization_id", fmt.Sprint(belleville)), chromedp.SetValue("#role", "admin"))
	ui.ClickText("Créer le compte")
	ui.Do(chromedp.WaitVisible("#organization_id-error"))
	if msg := ui.Text("#organization_id-error"); !strings.Contains(msg, "Équipe d'espace") {
		t.Fatalf("admin at a space says %q", msg)
	}
	checkPage(t, ui, "new user refused", "/admin/utilisateurs/nouveau")
	ui.Do(chromedp.SetValue("#role", ""))
	ui.ClickText("Créer le compte")
	ui.Do(chromedp.WaitNotPresent("#user-form"))
	var role string
	svc.db.Table("users").Where("email = ?", "ines@example.org").Pluck("role", &role)
	if role != "space" {
		t.Fatalf("the account was made with role %q", role)
	}
}

// TestLabelsPrintWhatTheFieldsSay: positions typed into « Positions déjà
// utilisées » and the print button pressed at once (the sheet not redrawn
// yet) print with those positions skipped. Before, the PDF went out with
// the offset the sheet was drawn with (0), and the sheet of labels was
// wasted.
func TestLabelsPrintWhatTheFieldsSay(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	ctx := context.Background()
	wh, don := warehouseDonation(t, svc, n)
	if _, err := svc.inventory.RegisterDevice(ctx, wh, inventory.NewDevice{DonationID: don.ID, Category: inventory.Laptop, Brand: "Dell", Model: "Latitude"}); err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open(fmt.Sprintf("/etiquettes?don=%d&layout=a4-3x8", don.ID), "#labels-form")
	ui.Do(chromedp.Click("#offset"), chromedp.KeyEvent("\b\b7"))
	// The print form as the button sends it, caught before it leaves.
	sent := ui.EvalString(`(() => {
		const f = document.querySelector("#labels-form"); let seen = "";
		f.addEventListener("submit", e => { seen = new FormData(f).get("layout") + " " + new FormData(f).get("offset"); e.preventDefault(); });
		f.requestSubmit(document.querySelector("#print-labels"));
		return seen;
	})()`)
	if sent != "a4-3x8 7" {
		t.Fatalf("the print form sends %q, want the typed offset 7", sent)
	}
}

// menuOutside counts the menu's entries not wholly inside the window.
const menuOutside = `[...document.querySelectorAll(".menu a")].filter(a => { const r = a.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; }).length`

// TestMenuFitsEveryWidth: every role's menu shows all its entries inside
// the window at 1,280 and at 390 px (it wraps), with nothing to scroll
// sideways. Before, the admin's menu was 1,849 px wide in a 1,280 px window:
// Transferts, Stock, Inventaire, Prix and Recharges were out of sight.
func TestMenuFitsEveryWidth(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, _, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	for _, a := range net.Accounts {
		ui := testenv.NewUI(t, h.URL, 20*time.Second)
		ui.Login(a.Email, a.Password)
		ui.Do(chromedp.WaitVisible(".menu"))
		ui.WideHere()
		if n := ui.Eval(menuOutside); n != 0 {
			ui.Shot("menu-" + string(a.Role))
			t.Errorf("%s at 1280 px: %d menu entries out of the window", a.Email, n)
		}
		if over := ui.NarrowHere(); over > 0 || ui.Eval(menuOutside) != 0 {
			t.Errorf("%s at 390 px: scrolls %d px, %d menu entries out of the window", a.Email, over, ui.Eval(menuOutside))
		}
	}
}

// TestPageCSVsOpenInFrenchExcel: the CSVs a person downloads from the pages
// open in columns in French Excel (a BOM, semicolons, French headers); the
// API keeps its documented form. Before, they opened in one column.
func TestPageCSVsOpenInFrenchExcel(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	_, admin, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	var operator int64
	svc.db.Table("organizations").Where("kind = ?", "operator").Limit(1).Pluck("id", &operator)
	cookie := webLogin(t, h, admin.Email, admin.Password)
	month := time.Now().UTC().Format("2006-01")
	for path, header := range map[string]string{
		"/admin/rapports/financeurs.csv":                                               "Périmètre;Clé;Nom;Personnes;Appareils;Recharges;Accessoires",
		fmt.Sprintf("/recharges/vendues.csv?operator_id=%d&month=%s", operator, month): "Numéro de série;Produit;Valeur faciale (centimes);Vendue le (UTC);Site;Vente n°",
	} {
		status, _, body := exchange(t, h, "GET", path, nil, cookie)
		if status != 200 || !strings.HasPrefix(body, "\ufeff"+header+"\n") {
			t.Errorf("%s: %d %.200q", path, status, body)
		}
	}
	token := login(t, h.URL, admin.Email, admin.Password)
	r := noRedirect(t, "GET", h.URL+"/api/v1/reports/funders", nil, nil, "Authorization", "Bearer "+token, "Accept", "text/csv")
	if body := bodyOf(t, r); !strings.HasPrefix(body, "scope,key,name,") {
		t.Fatalf("the API's funder CSV: %.100q", body)
	}
}

// TestSearchAndScansAsPeopleTypeThem: a tag is found by its beginning and by
// its number alone; a misread scan is not offered as a serial number to
// register; a label printed before diagnosis tells no grade. Before,
// /appareils?q=TEL, TEL-0000 and 00007 found nothing, X#É!!ZZ was offered as
// a new serial, and such labels said « Grade – ».
func TestSearchAndScansAsPeopleTypeThem(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	ctx := context.Background()
	wh, don := warehouseDonation(t, svc, n)
	d, err := svc.inventory.RegisterDevice(ctx, wh, inventory.NewDevice{DonationID: don.ID, Category: inventory.Smartphone, Brand: "Fairphone", Model: "3"})
	if err != nil {
		t.Fatal(err)
	}
	prefix, number, _ := strings.Cut(d.Tag, "-")
	cookie := webLogin(t, h, "marc@example.org", uiPassword)
	for _, q := range []string{prefix, d.Tag[:len(d.Tag)-1], number, strings.TrimLeft(number, "0")} {
		status, _, body := exchange(t, h, "GET", "/appareils?q="+url.QueryEscape(q), nil, cookie)
		if status != 200 || !strings.Contains(body, `href="/appareils/`+d.Tag+`"`) {
			t.Errorf("search %q does not find %s (%d)", q, d.Tag, status)
		}
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Do(chromedp.WaitVisible("#scan-form"))
	ui.Scan("X#É!!ZZ", "#scan-misread")
	if ui.Has("#register-form") {
		t.Fatal("a misread scan is offered as a serial number to register")
	}
	ui.Scan("SN-4411-AB", "#register-form")
	label := testenv.PDFText(t, getPDF(t, h.URL+"/appareils/"+d.Tag+"/etiquette.pdf", cookie))
	if strings.Contains(label, "Grade") || !strings.Contains(label, "Fairphone") {
		t.Fatalf("label before diagnosis:\n%s", label)
	}
}

// readyDevice registers a smartphone at the warehouse and takes it to
// ready at the grid's price.
func readyDevice(t *testing.T, svc *app, wh partners.Caller, donation int64) inventory.Device {
	t.Helper()
	ctx := context.Background()
	d, err := svc.inventory.RegisterDevice(ctx, wh, inventory.NewDevice{DonationID: donation, Category: inventory.Smartphone, Brand: "Fairphone", Model: "4"})
	if err != nil {
		t.Fatal(err)
	}
	grade, method, passed := "A", "nwipe", "passed"
	for _, tr := range []inventory.Transition{{Action: "diagnose", Grade: &grade, Locks: &inventory.Locks{Account: "clear", MDM: "clear", Firmware: "not_applicable", Blocklist: "clear"}}, {Action: "erase", Method: &method, Result: &passed}, {Action: "mark_ready"}} {
		if d, err = svc.inventory.Apply(ctx, wh, d.ID, tr); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// TestTransferRefusalsAndCancel: a device on another draft is refused at
// the scan, in French; cancelling a transfer asks to confirm; a draft's
// manifest says it is not the one to hand over. Before, the device was
// accepted at the scan and refused in English at creation, « Annuler le
// transfert » acted in one click, and the draft's manifest read as final.
func TestTransferRefusalsAndCancel(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	ctx := context.Background()
	wh, don := warehouseDonation(t, svc, n)
	d := readyDevice(t, svc, wh, don.ID)
	draft, err := svc.inventory.CreateTransfer(ctx, wh, inventory.NewTransfer{FromSiteID: n.warehouse.ID, ToSiteID: n.space.ID, DeviceIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open("/transferts/nouveau", "#transfer-form")
	ui.Do(chromedp.SetValue("#to_site_id", fmt.Sprint(n.space.ID)), chromedp.Click("#code"))
	ui.Scan(d.Tag, "#scan-error")
	if msg := ui.Text("#scan-error"); !strings.Contains(msg, fmt.Sprintf("déjà sur le transfert en préparation n° %d", draft.ID)) {
		t.Fatalf("a device on another draft at the scan: %q", msg)
	}
	ui.Open(fmt.Sprintf("/transferts/%d", draft.ID), "#cancel")
	ui.Do(chromedp.Click("#cancel"), chromedp.WaitVisible("#confirm-cancel"))
	var status string
	svc.db.Table("transfers").Where("id = ?", draft.ID).Pluck("status", &status)
	if status != "draft" {
		t.Fatalf("one click on « Annuler » left the transfer %s", status)
	}
	manifest := testenv.PDFText(t, getPDF(t, fmt.Sprintf("%s/transferts/%d/manifeste.pdf", h.URL, draft.ID), ui.Cookie(sessionCookie)))
	if !strings.Contains(manifest, "BROUILLON") {
		t.Fatalf("the draft's manifest:\n%s", manifest)
	}
	checkPage(t, ui, "transfer draft", fmt.Sprintf("/transferts/%d", draft.ID))
	ui.Open(fmt.Sprintf("/transferts/%d", draft.ID), "#cancel")
	ui.Do(chromedp.Click("#cancel"), chromedp.WaitVisible("#confirm-cancel"))
	ui.ClickText("Oui, annuler ce transfert")
	ui.Do(chromedp.WaitVisible("#flash"))
	svc.db.Table("transfers").Where("id = ?", draft.ID).Pluck("status", &status)
	if status != "cancelled" {
		t.Fatalf("after the confirmation the transfer is %s", status)
	}
}

// TestTransferScansBeforeItsDestination: a volunteer who scans the first
// device before choosing where the transfer goes has it added; the
// destination is asked for when the transfer is created. Before, the
// browser's own check of the required destination took the scan: the
// focus went to the list of sites, and the device was not added.
func TestTransferScansBeforeItsDestination(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	wh, don := warehouseDonation(t, svc, n)
	d := readyDevice(t, svc, wh, don.ID)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open("/transferts/nouveau", "#transfer-form")
	ui.Scan(d.Tag, "#scan-added")
	if got := ui.Text("#device-count"); got != "1" {
		t.Fatalf("the draft holds %s devices after a scan before the destination", got)
	}
	ui.Do(chromedp.SetValue("#to_site_id", fmt.Sprint(n.space.ID)))
	ui.ClickText("Créer le transfert")
	ui.Do(chromedp.WaitVisible("#transfer-status"))
	var on int64
	svc.db.Table("transfer_devices").Where("device_id = ?", d.ID).Count(&on)
	if on != 1 {
		t.Fatalf("the device is on %d transfers", on)
	}
}

// TestScanAnythingAnywhere: on every page with a scan field, each kind of
// code (a device's tag, IMEI and serial, a voucher's code, a command card, a
// transfer's delivery note, a misread scan) is recognised for what it is,
// and nothing is changed: no device moves, no lookup counts, no event is
// written. The rule behind issue 27: a scan is never taken for something
// else.
func TestScanAnythingAnywhere(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, siteID := demoAccount(t, svc, "belleville@demo.tremplin.local")
	var warehouse partners.DemoAccount
	for _, a := range net.Accounts {
		if a.Role == partners.RoleWarehouse {
			warehouse = a
		}
	}
	voucher, _, _ := strings.Cut(net.Vouchers[0], " ")
	var whID int64
	svc.db.Table("users").Where("email = ?", warehouse.Email).Pluck("organization_id", &whID)
	device := func(site int64, where string) inventory.Device {
		t.Helper()
		var d inventory.Device
		if err := svc.db.DB.Where("site_id = ? AND "+where, site).Order("id").Take(&d).Error; err != nil {
			t.Fatalf("no device at %d with %s: %v", site, where, err)
		}
		return d
	}
	whTagged, whIMEI, whSerial := device(whID, "state = 'received'"), device(whID, "imei IS NOT NULL"), device(whID, "serial IS NOT NULL")
	spTagged, spIMEI := device(siteID, "state = 'in_stock'"), device(siteID, "state = 'in_stock' AND imei IS NOT NULL")
	// A serial shaped like a voucher's code (twelve letters and digits), at
	// the space: set on one of its devices for the test.
	spSerial := device(siteID, "state = 'in_stock' AND imei IS NULL")
	twelve := "SN0LIO123456" // 0, L, I and O: never a voucher's, whatever its check
	if err := svc.db.Table("devices").Where("id = ?", spSerial.ID).Update("serial", twelve).Error; err != nil {
		t.Fatal(err)
	}
	spSerial.Serial = &twelve
	const deviceFound, notVoucher = `id="device"`, "n'est pas le code d'un bon"

	snapshot := func() string {
		var events, failed, used int64
		svc.db.Table("device_events").Count(&events)
		svc.db.Table("audit_log").Where("action = ?", "voucher.lookup_failed").Count(&failed)
		svc.db.Table("vouchers").Select("COALESCE(SUM(devices_used + recharges_used), 0)").Scan(&used)
		var states []string
		svc.db.Table("devices").Order("id").Pluck("state", &states)
		return fmt.Sprint(events, failed, used, states)
	}
	before := snapshot()

	whCookie := webLogin(t, h, warehouse.Email, warehouse.Password)
	spCookie := webLogin(t, h, space.Email, space.Password)
	cases := []struct {
		page, kind, code, want string
	}{
		{"/poste", "tag", whTagged.Tag, deviceFound},
		{"/poste", "IMEI", *whIMEI.IMEI, deviceFound},
		{"/poste", "serial", *whSerial.Serial, deviceFound},
		{"/poste", "voucher", voucher, `id="scan-voucher"`},
		{"/poste", "command", "CMD-DIAG-A", "Scannez d'abord un appareil"},
		{"/poste", "note", "T-000001", `id="scan-note"`},
		{"/poste", "garbage", "X#É!!ZZ", `id="scan-misread"`},
		{"/caisse", "tag", spTagged.Tag, "est un appareil"},
		{"/caisse", "IMEI", *spIMEI.IMEI, "est un appareil"},
		{"/caisse", "twelve-letter serial", *spSerial.Serial, "est un appareil"},
		{"/caisse", "voucher", voucher, `id="voucher"`},
		{"/caisse", "command", "CMD-DIAG-A", notVoucher},
		{"/caisse", "note", "T-000001", notVoucher},
		{"/caisse", "garbage", "X#É!!ZZ", notVoucher},
		{"/verifier", "tag", spTagged.Tag, "est un appareil"},
		{"/verifier", "IMEI", *spIMEI.IMEI, "est un appareil"},
		{"/verifier", "voucher", voucher, `id="verify-result"`},
		{"/verifier", "command", "CMD-DIAG-A", notVoucher},
		{"/verifier", "note", "T-000001", notVoucher},
		{"/verifier", "garbage", "X#É!!ZZ", notVoucher},
	}
	for _, c := range cases {
		var body string
		switch c.page {
		case "/poste":
			// What the scan form sends: a command is acted on, anything else
			// looked up at /poste?code=.
			r := noRedirect(t, "POST", h.URL+"/poste", url.Values{"code": {c.code}}, whCookie)
			r.Body.Close()
			next := r.Header.Get("Location")
			flash := ""
			for _, ck := range r.Cookies() {
				if ck.Name == "tremplin_flash" {
					flash, _ = url.QueryUnescape(ck.Value)
				}
			}
			_, _, body = exchange(t, h, "GET", next, nil, whCookie)
			body += flash
		case "/caisse":
			_, body = submit(t, h, "/caisse", url.Values{"code": {c.code}}, spCookie)
		case "/verifier":
			_, _, body = exchange(t, h, "GET", "/verifier?code="+url.QueryEscape(c.code), nil, spCookie)
		}
		if !strings.Contains(html.UnescapeString(body), c.want) {
			t.Errorf("%s, a %s (%s): the page lacks %q", c.page, c.kind, c.code, c.want)
		}
	}
	// The voucher looked up counts no failure; nothing moved.
	if after := snapshot(); after != before {
		t.Fatalf("scans changed the database:\nbefore %s\nafter  %s", before, after)
	}
}

// warehouseDonation is Marc's caller at the warehouse of newWarehouseNetwork
// and a donation received there, for tests that register devices.
func warehouseDonation(t *testing.T, svc *app, n warehouseNetwork) (partners.Caller, inventory.DonationView) {
	t.Helper()
	var marc int64
	svc.db.Table("users").Where("email = ?", "marc@example.org").Pluck("id", &marc)
	wh := partners.Caller{UserID: marc, Role: partners.RoleWarehouse, OrganizationID: n.warehouse.ID, OrganizationKind: partners.KindWarehouse}
	don, err := svc.inventory.CreateDonation(context.Background(), wh, inventory.NewDonation{DonorID: n.donor.ID, WarehouseID: n.warehouse.ID})
	if err != nil {
		t.Fatal(err)
	}
	return wh, don
}

// rechargeProduct is a 10 € card sold 5 €, of a new operator.
func rechargeProduct(t *testing.T, svc *app) recharges.Product {
	t.Helper()
	ctx, admin := context.Background(), partners.Caller{Role: partners.RoleAdmin}
	operator, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindOperator, Name: "Opérateur"})
	if err != nil {
		t.Fatal(err)
	}
	price := int64(500)
	product, err := svc.recharges.CreateProduct(ctx, admin, recharges.NewProduct{OperatorID: operator.ID, Name: "Forfait 10 €", FaceValueCents: 1000, PriceCents: &price})
	if err != nil {
		t.Fatal(err)
	}
	return product
}

// TestRegisterAndPrintPrints (issue 27, item 12): « Enregistrer et
// imprimer » prints the new device's label at once, from a frame of the
// page the scanner stays on, the focus still in the scan field; a reload
// does not print it again, and nothing goes on the print list. Before, the
// button only put the device on the print list.
func TestRegisterAndPrintPrints(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	_, don := warehouseDonation(t, svc, n)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open(fmt.Sprintf("/dons/%d?category=smartphone&brand=Fairphone&model=4", don.ID), "#intake-form")
	ui.Do(chromedp.SendKeys("#code", "356938035643809"), chromedp.Click("#register-print"), chromedp.WaitReady("#print-frame"))
	var tag string
	svc.db.Table("devices").Where("imei = ?", "356938035643809").Pluck("tag", &tag)
	if tag == "" {
		t.Fatal("the device was not registered")
	}
	label := "/appareils/" + tag + "/etiquette.pdf"
	if src := ui.EvalString(`document.getElementById("print-frame").getAttribute("src")`); src != label {
		t.Fatalf("the page prints %q, want %q", src, label)
	}
	// The frame loaded the label: a refused frame would be another origin's
	// error page, which a script of the page cannot read.
	loaded := `(function(){try{return document.getElementById("print-frame").contentWindow.location.pathname}catch(e){return "refused"}})()`
	ui.Do(chromedp.Poll[chromedp.Void](loaded+` === "`+label+`"`, chromedp.WithPollingTimeout(10*time.Second)))
	if ui.Focused() != "code" {
		t.Fatalf("after printing the focus is on %q, not the scan field", ui.Focused())
	}
	if msg := ui.Text("#flash"); !strings.Contains(msg, tag+" enregistré : son étiquette s'imprime.") || !ui.Has("#print-again") {
		t.Fatalf("the status area says %q", msg)
	}
	cookie := ui.Cookie(sessionCookie)
	symbols := testenv.DecodePDF(t, getPDF(t, h.URL+label, cookie))
	if len(symbols) == 0 || symbols[0].Data != tag {
		t.Fatalf("the printed label decodes as %v, want %s", symbols, tag)
	}
	ui.Open(fmt.Sprintf("/dons/%d", don.ID), "#intake-form")
	if ui.Has("#print-frame") {
		t.Fatal("opening the page again prints the label again")
	}
	ui.Open("/poste", "#print-list")
	if got := ui.Text("#print-list"); !strings.Contains(got, "(0)") {
		t.Fatalf("the printed label also went on the print list: %q", got)
	}
	// The label may be framed by this site only.
	req, _ := http.NewRequest(http.MethodGet, h.URL+label, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if xfo, csp := resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"); xfo != "SAMEORIGIN" ||
		!strings.Contains(csp, "frame-ancestors 'self'") {
		t.Fatalf("the label's framing headers: %q, %q", xfo, csp)
	}
	page := h.Do(http.MethodGet, fmt.Sprintf("/dons/%d", don.ID), "", nil)
	if xfo := page.Header.Get("X-Frame-Options"); xfo != "DENY" {
		t.Fatalf("a page may be framed: %q", xfo)
	}
}
