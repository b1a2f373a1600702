package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/demo"
	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// accessoryNetwork is newWarehouseNetwork with an admin and a space
// account, and their API tokens.
func accessoryNetwork(t *testing.T, svc *app, base string) (warehouseNetwork, map[string]string) {
	t.Helper()
	n := newWarehouseNetwork(t, svc)
	admin := partners.Caller{Role: partners.RoleAdmin}
	for _, u := range []partners.NewUser{
		{Email: "admin@example.org", Name: "Alice Admin", Password: uiPassword, Role: partners.RoleAdmin},
		{Email: "sabine@example.org", Name: "Sabine Martin", Password: uiPassword, Role: partners.RoleSpace, OrganizationID: &n.space.ID},
	} {
		if _, err := svc.partners.CreateUser(t.Context(), admin, u); err != nil {
			t.Fatal(err)
		}
	}
	return n, map[string]string{"admin": login(t, base, "admin@example.org", uiPassword), "warehouse": login(t, base, "marc@example.org", uiPassword),
		"space": login(t, base, "sabine@example.org", uiPassword), "lyon": login(t, base, "lyon@example.org", uiPassword)}
}

// TestAccessoriesLedger (issue 29): an admin defines a charger with its
// box's barcode; the warehouse receives a box of 40; a correction needs a
// reason (422) and never takes the stock below zero (409 short); another
// site's stock cannot be moved (404); the barcode resolves through the
// scan; twenty concurrent takes of one unit with ten in stock leave
// exactly ten taken and the stock at zero; tremplin's check agrees with the
// ledger, and catches a movement written behind the service's back.
func TestAccessoriesLedger(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok := accessoryNetwork(t, svc, h.URL)
	r := h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Chargeur USB-C 20 W", "kind": "charger", "price_cents": 500,
		"reference_price_cents": 1990, "barcode": "3760123456789", "low_stock_threshold": 5}).Expect(t, 201).Map(t)
	id := int64(r["id"].(float64))
	h.Do("POST", "/api/v1/accessories", tok["warehouse"], map[string]any{"name": "X", "kind": "charger", "price_cents": 1}).ExpectProblem(t, 403)
	h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Doublon", "kind": "charger", "price_cents": 1, "barcode": "3760123456789"}).ExpectProblem(t, 422)
	h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Sans sorte", "kind": "gadget", "price_cents": 1}).ExpectProblem(t, 422)

	wh := fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.warehouse.ID)
	m := h.Do("POST", wh, tok["warehouse"], map[string]any{"accessory_id": id, "quantity": 40}).Expect(t, 201).Map(t)
	if m["kind"] != "receipt" || m["available"] != float64(40) {
		t.Fatalf("a box received: %v", m)
	}
	h.Do("POST", wh, tok["warehouse"], map[string]any{"accessory_id": id, "quantity": -3}).ExpectProblem(t, 422)
	p := h.Do("POST", wh, tok["warehouse"], map[string]any{"accessory_id": id, "quantity": -41, "reason": "inventaire"}).ExpectProblem(t, 409)
	if p["type"] != "/problems/short" {
		t.Fatalf("below zero: %v", p)
	}
	m = h.Do("POST", wh, tok["warehouse"], map[string]any{"accessory_id": id, "quantity": -30, "reason": "comptés 10 après le tri"}).Expect(t, 201).Map(t)
	if m["kind"] != "correction" || m["available"] != float64(10) {
		t.Fatalf("a correction: %v", m)
	}
	// Another site's stock is not found; a space sees its own only.
	h.Do("POST", wh, tok["lyon"], map[string]any{"accessory_id": id, "quantity": 5}).ExpectProblem(t, 404)
	h.Do("POST", wh, tok["space"], map[string]any{"accessory_id": id, "quantity": 5}).ExpectProblem(t, 404)
	h.Do("GET", fmt.Sprintf("/api/v1/accessory-stock?site_id=%d", n.warehouse.ID), tok["space"], nil).ExpectProblem(t, 404)
	var stock []map[string]any
	h.Do("GET", "/api/v1/accessory-stock", tok["warehouse"], nil).Expect(t, 200).Decode(t, &stock)
	if len(stock) != 1 || stock[0]["available"] != float64(10) || stock[0]["low"] != false {
		t.Fatalf("the warehouse's stock: %v", stock)
	}
	scan := h.Do("GET", "/api/v1/scan/3760123456789", tok["warehouse"], nil).Expect(t, 200).Map(t)
	if scan["kind"] != "accessory" || scan["accessory"].(map[string]any)["name"] != "Chargeur USB-C 20 W" {
		t.Fatalf("the barcode scanned: %v", scan)
	}

	// Twenty take one at once, ten are there.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 20 {
		wg.Go(func() {
			r := h.Do("POST", wh, tok["warehouse"], map[string]any{"accessory_id": id, "quantity": -1, "reason": fmt.Sprintf("casse %d", i)})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	h.Do("GET", "/api/v1/accessory-stock", tok["warehouse"], nil).Expect(t, 200).Decode(t, &stock)
	if statuses[201] != 10 || statuses[409] != 10 || stock[0]["available"] != float64(0) || stock[0]["low"] != true {
		t.Fatalf("twenty takes of ten: %v, stock %v", statuses, stock)
	}
	if b, err := svc.accessories.Check(t.Context()); err != nil || len(b) != 0 {
		t.Fatalf("check: %v %v", b, err)
	}
	// Written behind the service's back: the ledger goes below zero.
	if err := svc.db.Exec(`INSERT INTO accessory_movements (accessory_id, site_id, quantity, kind, reason, created_at) VALUES (?, ?, -2, 'correction', 'à la main', ?)`,
		id, n.warehouse.ID, time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	if b, err := svc.accessories.Check(t.Context()); err != nil || len(b) != 1 || b[0].Rule != "accessory-stock" || !strings.Contains(b[0].Detail, "below zero") {
		t.Fatalf("check after a negative sum: %v %v", b, err)
	}
}

// TestAccessoriesTravel (issue 29): the warehouse receives a box of 40
// chargers and ships 10 to the space; a transfer asking more than the
// stock is a 409; the space counts 9 on arrival and both sites see one
// missing; a count over what is on the way is a 422 that changes nothing;
// the late one counted in, nothing is missing and the ledger holds.
func TestAccessoriesTravel(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok := accessoryNetwork(t, svc, h.URL)
	id := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Chargeur", "kind": "charger", "price_cents": 500}).Expect(t, 201).Map(t)["id"].(float64))
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.warehouse.ID), tok["warehouse"], map[string]any{"accessory_id": id, "quantity": 40}).Expect(t, 201)
	stock := func(site int64) float64 {
		t.Helper()
		var s []map[string]any
		h.Do("GET", fmt.Sprintf("/api/v1/accessory-stock?site_id=%d", site), tok["admin"], nil).Expect(t, 200).Decode(t, &s)
		if len(s) == 0 {
			return 0
		}
		return s[0]["available"].(float64)
	}
	body := map[string]any{"from_site_id": n.warehouse.ID, "to_site_id": n.space.ID, "accessories": []any{map[string]any{"accessory_id": id, "quantity": 41}}}
	h.Do("POST", "/api/v1/transfers", tok["warehouse"], body).ExpectProblem(t, 409)
	body["accessories"] = []any{map[string]any{"accessory_id": id, "quantity": 10}}
	tr := int64(h.Do("POST", "/api/v1/transfers", tok["warehouse"], body).Expect(t, 201).Map(t)["id"].(float64))
	h.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", tr), tok["warehouse"], nil).Expect(t, 200)
	if stock(n.warehouse.ID) != 30 || stock(n.space.ID) != 0 {
		t.Fatalf("after shipping: %v at the warehouse, %v at the space", stock(n.warehouse.ID), stock(n.space.ID))
	}
	recv := fmt.Sprintf("/api/v1/transfers/%d/receive", tr)
	h.Do("POST", recv, tok["space"], map[string]any{"codes": []string{}, "accessories": []any{map[string]any{"accessory_id": id, "quantity": 11}}}).ExpectProblem(t, 422)
	got := h.Do("POST", recv, tok["space"], map[string]any{"codes": []string{}, "accessories": []any{map[string]any{"accessory_id": id, "quantity": 9}}}).Expect(t, 200).Map(t)
	if fmt.Sprint(got["missing_accessories"]) != fmt.Sprintf("[map[accessory_id:%d quantity:1]]", id) || stock(n.space.ID) != 9 {
		t.Fatalf("counted 9 of 10: %v, stock %v", got["missing_accessories"], stock(n.space.ID))
	}
	seen := h.Do("GET", fmt.Sprintf("/api/v1/transfers/%d", tr), tok["warehouse"], nil).Expect(t, 200).Map(t)
	if fmt.Sprint(seen["missing_accessories"]) != fmt.Sprint(got["missing_accessories"]) {
		t.Fatalf("the warehouse sees %v", seen["missing_accessories"])
	}
	got = h.Do("POST", recv, tok["space"], map[string]any{"codes": []string{}, "accessories": []any{map[string]any{"accessory_id": id, "quantity": 1}}}).Expect(t, 200).Map(t)
	if len(got["missing_accessories"].([]any)) != 0 || stock(n.space.ID) != 10 {
		t.Fatalf("the late one: %v, stock %v", got["missing_accessories"], stock(n.space.ID))
	}
	if b, err := svc.accessories.Check(t.Context()); err != nil || len(b) != 0 {
		t.Fatalf("check: %v %v", b, err)
	}
}

// TestAccessoriesAtTheCounter (issue 29): a space sells a phone with two
// chargers (priced, no entitlement consumed) and accessories alone; beyond
// the stock is 409 short and sells nothing; a refund takes one back into
// stock, more than was sold is refused; the receipt lists them; twenty
// concurrent sales of one charger with ten in stock sell exactly ten.
func TestAccessoriesAtTheCounter(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok, phone, vouchers := counterWithAccessories(t, svc, h)
	ctx := t.Context()
	charger := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Chargeur USB-C", "kind": "charger", "price_cents": 500, "reference_price_cents": 1990}).Expect(t, 201).Map(t)["id"].(float64))
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.space.ID), tok["space"], map[string]any{"accessory_id": charger, "quantity": 12}).Expect(t, 201)
	stock := func() float64 {
		var s []map[string]any
		h.Do("GET", "/api/v1/accessory-stock", tok["space"], nil).Expect(t, 200).Decode(t, &s)
		return s[0]["available"].(float64)
	}
	sell := func(key, code string, items ...map[string]any) *testenv.Response {
		return h.Do("POST", "/api/v1/sales", tok["space"], map[string]any{"site_id": n.space.ID, "voucher_code": code, "payment_method": "cash", "items": items}, "Idempotency-Key", key)
	}
	before := stock()
	sell("too-many", vouchers[0], map[string]any{"device_id": phone.ID}, map[string]any{"accessory_id": charger, "quantity": 13}).ExpectProblem(t, 409)
	var state string
	svc.db.Table("devices").Where("id = ?", phone.ID).Pluck("state", &state)
	if stock() != before || state != "in_stock" {
		t.Fatalf("a refused sale moved %v chargers, phone %s", before-stock(), state)
	}
	sale := sell("phone", vouchers[0], map[string]any{"device_id": phone.ID}, map[string]any{"accessory_id": charger, "quantity": 2}).Expect(t, 201).Map(t)
	price := *phone.PriceCents
	if sale["total_cents"] != float64(price+1000) || stock() != 10 {
		t.Fatalf("phone and two chargers: total %v, stock %v", sale["total_cents"], stock())
	}
	if rem := sale["voucher"].(map[string]any)["remaining"].(map[string]any); rem["devices"] != float64(0) {
		t.Fatalf("the voucher after: %v", rem)
	}
	saleID := int64(sale["id"].(float64))
	receipt := testenv.PDFText(t, h.Do("GET", fmt.Sprintf("/api/v1/sales/%d/receipt.pdf", saleID), tok["space"], nil).Expect(t, 200).Body)
	if !strings.Contains(receipt, "Chargeur USB-C") {
		t.Fatalf("the receipt lacks the chargers:\n%s", receipt)
	}
	back := fmt.Sprintf("/api/v1/sales/%d/refund", saleID)
	h.Do("POST", back, tok["space"], map[string]any{"reason": "en double", "accessories": []any{map[string]any{"accessory_id": charger, "quantity": 1}}}).Expect(t, 200)
	if stock() != 11 {
		t.Fatalf("after a charger brought back: %v", stock())
	}
	h.Do("POST", back, tok["space"], map[string]any{"reason": "encore", "accessories": []any{map[string]any{"accessory_id": charger, "quantity": 2}}}).ExpectProblem(t, 409)
	// The counter's shelf of accessories, in one statement: the chargers
	// as the stock says, an accessory never received here at 0, another
	// site's shelf not found.
	cable := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Câble USB-C", "kind": "cable", "price_cents": 200}).Expect(t, 201).Map(t)["id"].(float64))
	spaceCaller := partners.Caller{Role: partners.RoleSpace, OrganizationID: n.space.ID, OrganizationKind: partners.KindSpace}
	shelf, err := svc.accessories.Shelf(ctx, spaceCaller, n.space.ID)
	have := map[int64]int{}
	for _, a := range shelf {
		have[a.ID] = a.Available
	}
	if err != nil || len(shelf) != 2 || have[charger] != 11 || have[cable] != 0 {
		t.Fatalf("the counter's shelf: %+v %v", shelf, err)
	}
	if _, err := svc.accessories.Shelf(ctx, spaceCaller, n.warehouse.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another site's shelf: %v", err)
	}
	// Accessories alone, then twenty at once for the last units.
	sell("alone", vouchers[1], map[string]any{"accessory_id": charger, "quantity": 1}).Expect(t, 201)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 20 {
		wg.Go(func() {
			r := sell(fmt.Sprintf("race-%d", i), vouchers[2+i], map[string]any{"accessory_id": charger, "quantity": 1})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[201] != 10 || statuses[409] != 10 || stock() != 0 {
		t.Fatalf("twenty sales of ten chargers: %v, stock %v", statuses, stock())
	}
	if b, err := svc.accessories.Check(ctx); err != nil || len(b) != 0 {
		t.Fatalf("check: %v %v", b, err)
	}
	// The price new changes in the catalogue: the figures kept (takings,
	// savings, refunds included) still equal a recount from the sales.
	h.Do("PATCH", fmt.Sprintf("/api/v1/accessories/%d", charger), tok["admin"], map[string]any{"reference_price_cents": 2990}).Expect(t, 200)
	if b, err := checkFigures(ctx, svc.db); err != nil || len(b) != 0 {
		t.Fatalf("the figures against a recount: %v %v", b, err)
	}
	// Sold: 2 with the phone (1 brought back), 1 alone, 10 in the race.
	summary := h.Do("GET", "/api/v1/reports/summary", tok["admin"], nil).Expect(t, 200).Map(t)
	if got := fmt.Sprint(summary["accessories_sold"]); got != "map[charger:12]" {
		t.Fatalf("the summary's accessories sold: %s", got)
	}
	// The day's closing counts every charger sold that day, the refunded
	// one among the refunds.
	closing := h.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing", n.space.ID), tok["space"], nil).Expect(t, 200).Map(t)
	if closing["accessories_sold"] != float64(13) || closing["refunds"] != float64(1) {
		t.Fatalf("the day's closing: %v", closing)
	}
	funders := h.Do("GET", "/api/v1/reports/funders", tok["admin"], nil).Expect(t, 200).Map(t)
	if total := funders["total"].(map[string]any); total["accessories"] != float64(12) || total["devices"] != float64(1) {
		t.Fatalf("the funder report's total: %v", total)
	}
	csv := string(h.Do("GET", "/api/v1/reports/funders", tok["admin"], nil, "Accept", "text/csv").Expect(t, 200).Body)
	if !strings.Contains(csv, "accessories") {
		t.Fatalf("the funder CSV:\n%s", csv)
	}
	pdf := testenv.PDFText(t, h.Do("GET", "/api/v1/reports/funders", tok["admin"], nil, "Accept", "application/pdf").Expect(t, 200).Body)
	if !strings.Contains(pdf, "12 accessoires") {
		t.Fatalf("the funder PDF:\n%s", pdf)
	}
}

// counterWithAccessories is accessoryNetwork with a phone in stock at the
// space and 22 vouchers of one smartphone each.
func counterWithAccessories(t *testing.T, svc *app, h *testenv.HTTP) (warehouseNetwork, map[string]string, inventory.Device, []string) {
	t.Helper()
	n, tok := accessoryNetwork(t, svc, h.URL)
	ctx := t.Context()
	wh, don := warehouseDonation(t, svc, n)
	phone := readyDevice(t, svc, wh, don.ID)
	admin := partners.Caller{Role: partners.RoleAdmin}
	tr, err := svc.inventory.CreateTransfer(ctx, wh, inventory.NewTransfer{FromSiteID: n.warehouse.ID, ToSiteID: n.space.ID, DeviceIDs: []int64{phone.ID}})
	if err == nil {
		_, err = svc.inventory.ShipTransfer(ctx, wh, tr.ID)
	}
	if err == nil {
		_, err = svc.inventory.ReceiveTransfer(ctx, admin, tr.ID, inventory.Scanned{Codes: []string{phone.Tag}})
	}
	if err != nil {
		t.Fatal(err)
	}
	org, err := svc.partners.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: partners.KindPrescriber, Name: "CCAS"})
	if err != nil {
		t.Fatal(err)
	}
	presc := partners.Caller{Role: partners.RolePrescriber, OrganizationID: org.ID, OrganizationKind: partners.KindPrescriber}
	vouchers := make([]string, 22)
	for i := range vouchers {
		b, err := svc.distribution.CreateBeneficiary(ctx, presc, distribution.NewBeneficiary{FirstName: fmt.Sprintf("Personne%d", i), LastName: "Martin"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := svc.distribution.IssueVoucher(ctx, presc, distribution.NewVoucher{BeneficiaryID: b.ID, DeviceCategories: []string{"smartphone"}, Devices: 1, ValidDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		vouchers[i] = v.Code
	}
	return n, tok, phone, vouchers
}

// TestAccessoriesAtTheCounterInBrowser (issue 29): at the counter, after
// the voucher and the phone, a charger is added with its button and a
// second by scanning its box's barcode; −1 takes one out; paid in cash, the
// sale lists the phone and the charger, and the space's stock is one less;
// the charger brought back from the sale's page is back in stock.
func TestAccessoriesAtTheCounterInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok, phone, vouchers := counterWithAccessories(t, svc, h)
	charger := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Chargeur USB-C", "kind": "charger", "price_cents": 500,
		"barcode": "3760123456789"}).Expect(t, 201).Map(t)["id"].(float64))
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.space.ID), tok["space"], map[string]any{"accessory_id": charger, "quantity": 5}).Expect(t, 201)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("sabine@example.org", uiPassword)
	ui.Open("/caisse", "#till")
	ui.Scan(vouchers[0], "#voucher")
	ui.Scan(phone.Tag, "#till-added")
	ui.Do(chromedp.WaitVisible("#accessories"))
	ui.ClickText("Chargeur USB-C")
	ui.Scan("3760123456789", "#till-added")
	if got := ui.Text("#basket"); !strings.Contains(got, "2 × Chargeur USB-C") {
		t.Fatalf("the basket: %q", got)
	}
	ui.Shot("space-counter-accessories")
	checkPage(t, ui, "counter with accessories", "/caisse")
	ui.Follow(`#basket button[name=lessacc]`)
	if got := ui.Text("#basket"); !strings.Contains(got, "1 × Chargeur USB-C") {
		t.Fatalf("after −1: %q", got)
	}
	ui.Follow("#pay-cash")
	ui.Do(chromedp.WaitVisible("#sale-done"))
	if got := ui.Text("main"); !strings.Contains(got, "Chargeur USB-C") {
		t.Fatalf("the sale's page lacks the charger: %q", got)
	}
	var s []map[string]any
	h.Do("GET", "/api/v1/accessory-stock", tok["space"], nil).Expect(t, 200).Decode(t, &s)
	if s[0]["available"] != float64(4) {
		t.Fatalf("the space's stock after the sale: %v", s)
	}
	// The charger comes back: 2 is more than was sold, said with the
	// count kept; 1 goes back into stock and the phone stays sold.
	field := fmt.Sprintf("#back-%d", charger)
	ui.Do(chromedp.SendKeys(field, "2"), chromedp.SendKeys("#refund-reason", "ne charge pas"))
	ui.Follow("#refund")
	if msg := ui.Text("#refund-error"); msg == "" || ui.Value(field) != "2" {
		t.Fatalf("two chargers back of one: %q, field %q", msg, ui.Value(field))
	}
	ui.Do(chromedp.SetValue(field, "1"), chromedp.SetValue("#refund-reason", "ne charge pas"))
	ui.Follow("#refund")
	if msg := ui.Text("#flash"); !strings.Contains(msg, "accessoires") {
		t.Fatalf("the charger refunded: %q", msg)
	}
	if got := ui.Text("#sale-items"); !strings.Contains(got, "rapporté") {
		t.Fatalf("the sale after the refund: %q", got)
	}
	ui.Shot("space-sale-accessory-refunded")
	h.Do("GET", "/api/v1/accessory-stock", tok["space"], nil).Expect(t, 200).Decode(t, &s)
	var state string
	svc.db.Table("devices").Where("id = ?", phone.ID).Pluck("state", &state)
	if s[0]["available"] != float64(5) || state != "sold" {
		t.Fatalf("after the charger's refund: stock %v, phone %s", s, state)
	}
}

// TestAccessoriesPage (issue 29): an admin adds a charger from the page (a
// price typed in words refused, kept in the form); the warehouse records
// a box of 40, a correction without a reason is refused, one with a reason
// is taken; the page and /stock show the stock; another site's staff see
// their own.
func TestAccessoriesPage(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	accessoryNetwork(t, svc, h.URL)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("admin@example.org", uiPassword)
	ui.Open("/accessoires", "#accessory-form")
	ui.Do(chromedp.SendKeys("#acc-name", "Chargeur USB-C"), chromedp.SendKeys("#acc-price", "cinq"), chromedp.SendKeys("#acc-barcode", "3760123456789"))
	ui.Follow("#create-accessory")
	if msg := ui.Text("#acc-price-error"); !strings.Contains(msg, "euros") || ui.Value("#acc-name") != "Chargeur USB-C" {
		t.Fatalf("a price in words: %q", msg)
	}
	ui.Do(chromedp.SetValue("#acc-price", "5"))
	ui.Follow("#create-accessory")
	if !strings.Contains(ui.Text("#accessory-stock"), "Chargeur USB-C") {
		t.Fatalf("the list: %q", ui.Text("#accessory-stock"))
	}
	checkPage(t, ui, "accessories (admin)", "/accessoires")
	wh := testenv.NewUI(t, h.URL, 20*time.Second)
	wh.Login("marc@example.org", uiPassword)
	wh.Open("/accessoires", "#movement-form")
	wh.Do(chromedp.SendKeys("#move-quantity", "40"))
	wh.Follow("#record-movement")
	if msg := wh.Text("#flash"); !strings.Contains(msg, "40") {
		t.Fatalf("a box received: %q", msg)
	}
	wh.Do(chromedp.SetValue("#move-quantity", "-2"))
	wh.Follow("#record-movement")
	if msg := wh.Text("#move-reason-error"); !strings.Contains(msg, "obligatoire") {
		t.Fatalf("a correction without a reason: %q", msg)
	}
	wh.Do(chromedp.SetValue("#move-quantity", "-2"), chromedp.SendKeys("#move-reason", "deux cassés"))
	wh.Follow("#record-movement")
	if got := wh.Text("#accessory-stock"); !strings.Contains(got, "38") {
		t.Fatalf("the warehouse's stock: %q", got)
	}
	wh.Shot("warehouse-accessories")
	checkPage(t, wh, "accessories (warehouse)", "/accessoires")
	// The stock page shows the chargers beside the devices and cards.
	wh.Open("/stock", "#accessory-shelf")
	if got := wh.Text("#accessory-shelf"); !strings.Contains(got, "Chargeur USB-C") || !strings.Contains(got, "38") {
		t.Fatalf("the stock page's accessories: %q", got)
	}
	space := testenv.NewUI(t, h.URL, 20*time.Second)
	space.Login("sabine@example.org", uiPassword)
	space.Open("/accessoires", "#accessory-stock")
	if got := space.Text("#accessory-stock"); strings.Contains(got, "38") {
		t.Fatalf("the space sees the warehouse's stock: %q", got)
	}
}

// TestAccessoriesReceivedInBrowser (issue 29): the space counts 9 of the
// 10 chargers shipped, confirms, and the transfer shows one missing; a
// later count of one receives it.
func TestAccessoriesReceivedInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok := accessoryNetwork(t, svc, h.URL)
	id := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Chargeur USB-C", "kind": "charger", "price_cents": 500}).Expect(t, 201).Map(t)["id"].(float64))
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.warehouse.ID), tok["warehouse"], map[string]any{"accessory_id": id, "quantity": 40}).Expect(t, 201)
	// The warehouse makes the transfer from its page: 10 chargers, shipped.
	wh := testenv.NewUI(t, h.URL, 20*time.Second)
	wh.Login("marc@example.org", uiPassword)
	wh.Open("/transferts/nouveau", "#transfer-form")
	wh.Do(chromedp.SetValue("#to_site_id", fmt.Sprint(n.space.ID)), chromedp.SendKeys(fmt.Sprintf("#acc_%d", id), "10"))
	wh.Follow("#create-transfer")
	wh.Follow("#ship")
	var tr int64
	svc.db.Table("transfers").Order("id DESC").Limit(1).Pluck("id", &tr)
	if got := wh.Text("#transfer-accessories"); !strings.Contains(got, "10 × Chargeur USB-C") {
		t.Fatalf("the shipped transfer: %q", got)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("sabine@example.org", uiPassword)
	field := fmt.Sprintf("#acc_%d", id)
	ui.Open(fmt.Sprintf("/transferts/%d/reception", tr), field)
	ui.Do(chromedp.SendKeys(field, "9"))
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible("#confirm-missing"))
	if msg := ui.Text("#confirm-missing"); !strings.Contains(msg, "1 × Chargeur USB-C non compté") {
		t.Fatalf("the confirmation: %q", msg)
	}
	ui.ClickText("Terminer quand même")
	ui.Do(chromedp.WaitVisible("#transfer-accessories"))
	if got := ui.Text("#transfer-accessories"); !strings.Contains(got, "1 manquant à la réception") {
		t.Fatalf("the transfer: %q", got)
	}
	ui.ClickText("Réceptionner ce qui est arrivé depuis")
	ui.Do(chromedp.WaitVisible(field), chromedp.SendKeys(field, "1"))
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible("#flash"))
	var s []map[string]any
	h.Do("GET", "/api/v1/accessory-stock", tok["space"], nil).Expect(t, 200).Decode(t, &s)
	if len(s) != 1 || s[0]["available"] != float64(10) {
		t.Fatalf("the space's stock: %v", s)
	}
}

// TestAccessoriesCounted (issue 29): the warehouse's stock check counts 37
// of the 40 chargers recorded and 6 cases where none were recorded; the
// differences are kept with the check; a bad count is a 422 that records
// nothing; each difference is corrected once, with its reason (422
// without), a second try is 409, and the stock then agrees with the count.
// Another site's check cannot be corrected (404).
func TestAccessoriesCounted(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok := accessoryNetwork(t, svc, h.URL)
	newAccessory := func(name, kind string) int64 {
		return int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": name, "kind": kind, "price_cents": 300}).Expect(t, 201).Map(t)["id"].(float64))
	}
	charger, cases, cable := newAccessory("Chargeur USB-C", "charger"), newAccessory("Coque A52", "case"), newAccessory("Câble USB-C", "cable")
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.warehouse.ID), tok["warehouse"], map[string]any{"accessory_id": charger, "quantity": 40}).Expect(t, 201)
	checks := fmt.Sprintf("/api/v1/sites/%d/stock-checks", n.warehouse.ID)
	count := func(lines ...any) map[string]any {
		return map[string]any{"codes": []string{}, "accessories": lines}
	}
	line := func(id int64, q int) map[string]any { return map[string]any{"accessory_id": id, "quantity": q} }
	var before int64
	svc.db.Table("stock_checks").Count(&before)
	for _, bad := range []map[string]any{
		count(line(charger, -1)),
		count(line(charger, 3), line(charger, 4)),
		count(line(999999, 3)),
	} {
		h.Do("POST", checks, tok["warehouse"], bad).ExpectProblem(t, 422)
	}
	var after int64
	if svc.db.Table("stock_checks").Count(&after); after != before {
		t.Fatalf("a refused count recorded %d checks", after-before)
	}
	sc := h.Do("POST", checks, tok["warehouse"], count(line(charger, 37), line(cases, 6))).Expect(t, 201).Map(t)
	diffs := sc["accessories"].([]any)
	if len(diffs) != 2 {
		t.Fatalf("the accessories counted: %v", diffs)
	}
	want := map[float64][3]float64{float64(charger): {40, 37, -3}, float64(cases): {0, 6, 6}}
	for _, d := range diffs {
		d := d.(map[string]any)
		w := want[d["accessory_id"].(float64)]
		if d["expected"] != w[0] || d["counted"] != w[1] || d["difference"] != w[2] || d["corrected_by"] != nil {
			t.Fatalf("a difference: %v, want %v", d, w)
		}
	}
	id := int64(sc["id"].(float64))
	fix := fmt.Sprintf("%s/%d/corrections", checks, id)
	h.Do("POST", fix, tok["warehouse"], map[string]any{"accessory_id": charger}).ExpectProblem(t, 422)
	h.Do("POST", fix, tok["warehouse"], map[string]any{"accessory_id": cable, "reason": "pas compté"}).ExpectProblem(t, 422)
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks/%d/corrections", n.warehouse.ID, id), tok["lyon"], map[string]any{"accessory_id": charger, "reason": "x"}).ExpectProblem(t, 404)
	// Five correct the same difference at once: one does.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 5 {
		wg.Go(func() {
			r := h.Do("POST", fix, tok["warehouse"], map[string]any{"accessory_id": charger, "reason": "trois cassés"})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[201] != 1 || statuses[409] != 4 {
		t.Fatalf("five corrections of one difference: %v", statuses)
	}
	m := h.Do("POST", fix, tok["admin"], map[string]any{"accessory_id": cases, "reason": "carton non enregistré"}).Expect(t, 201).Map(t)
	if m["kind"] != "correction" || m["available"] != float64(6) || !strings.Contains(m["reason"].(string), fmt.Sprint(id)) {
		t.Fatalf("the cases' correction: %v", m)
	}
	var stock []map[string]any
	h.Do("GET", "/api/v1/accessory-stock", tok["warehouse"], nil).Expect(t, 200).Decode(t, &stock)
	got := map[float64]float64{}
	for _, s := range stock {
		got[s["accessory_id"].(float64)] = s["available"].(float64)
	}
	if got[float64(charger)] != 37 || got[float64(cases)] != 6 {
		t.Fatalf("the stock after the corrections: %v", got)
	}
	kept := h.Do("GET", fmt.Sprintf("%s/%d", checks, id), tok["warehouse"], nil).Expect(t, 200).Map(t)
	for _, d := range kept["accessories"].([]any) {
		if d.(map[string]any)["corrected_by"] == nil {
			t.Fatalf("a difference left uncorrected: %v", d)
		}
	}
	if b, err := svc.accessories.Check(t.Context()); err != nil || len(b) != 0 {
		t.Fatalf("check: %v %v", b, err)
	}
}

// TestAccessoriesCountedInBrowser (issue 29): at the stock check, the
// warehouse types 37 chargers, scans a case's barcode twice into the scan
// field (two counted) and once into the chargers' count by mistake (taken
// as a scan, the 37 kept); the result shows the differences, and one
// click with its reason corrects each.
func TestAccessoriesCountedInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n, tok := accessoryNetwork(t, svc, h.URL)
	charger := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Chargeur USB-C", "kind": "charger", "price_cents": 500}).Expect(t, 201).Map(t)["id"].(float64))
	cases := int64(h.Do("POST", "/api/v1/accessories", tok["admin"], map[string]any{"name": "Coque A52", "kind": "case", "price_cents": 300, "barcode": "3760000000017"}).Expect(t, 201).Map(t)["id"].(float64))
	h.Do("POST", fmt.Sprintf("/api/v1/sites/%d/accessory-movements", n.warehouse.ID), tok["warehouse"], map[string]any{"accessory_id": charger, "quantity": 40}).Expect(t, 201)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open("/inventaire", "#accessory-counts")
	chargerField, caseField := fmt.Sprintf("#acc-%d", charger), fmt.Sprintf("#acc-%d", cases)
	ui.Do(chromedp.SendKeys(chargerField, "37"), chromedp.Focus("#code"))
	ui.Scan("3760000000017", "#accessory-counts")
	ui.Scan("3760000000017", "#accessory-counts")
	if ui.Value(caseField) != "2" || ui.Value(chargerField) != "37" {
		t.Fatalf("two boxes scanned: cases %q, chargers %q", ui.Value(caseField), ui.Value(chargerField))
	}
	ui.Do(chromedp.Click(chargerField))
	ui.Scan("3760000000017", "#accessory-counts")
	if ui.Value(caseField) != "3" || ui.Value(chargerField) != "37" {
		t.Fatalf("a box scanned into the chargers' count: cases %q, chargers %q", ui.Value(caseField), ui.Value(chargerField))
	}
	ui.Do(chromedp.SetValue(caseField, "deux"))
	ui.Follow("#finish")
	if msg := ui.Text(fmt.Sprintf("#acc-%d-error", cases)); !strings.Contains(msg, "Coque A52") {
		t.Fatalf("a count in words: %q", msg)
	}
	ui.Do(chromedp.SetValue(caseField, "3"))
	ui.Follow("#finish")
	table := ui.Text("#accessory-differences")
	if !strings.Contains(table, "-3") || !strings.Contains(table, "+3") {
		t.Fatalf("the differences: %q", table)
	}
	ui.Shot("stockcheck-accessories")
	checkPage(t, ui, "stock check result with accessories", strings.TrimPrefix(ui.Location(), h.URL))
	ui.Follow(fmt.Sprintf("#correct-%d", charger))
	if msg := ui.Text("#flash"); !strings.Contains(msg, "37") {
		t.Fatalf("the chargers corrected: %q", msg)
	}
	ui.Follow(fmt.Sprintf("#correct-%d", cases))
	if got := ui.Text("#accessory-differences"); strings.Count(got, "Corrigé") != 2 {
		t.Fatalf("after the corrections: %q", got)
	}
	var stock []map[string]any
	h.Do("GET", "/api/v1/accessory-stock", tok["warehouse"], nil).Expect(t, 200).Decode(t, &stock)
	for _, s := range stock {
		if want := map[float64]float64{float64(charger): 37, float64(cases): 3}[s["accessory_id"].(float64)]; s["available"] != want {
			t.Fatalf("the stock: %v", stock)
		}
	}
	// The dashboards agree with the ledger: the site's, and the network's.
	ui.Open("/tableau-de-bord", "#accessory-stock-now")
	if got := ui.Text("#accessory-stock-now"); !strings.Contains(got, "Chargeur USB-C") || !strings.Contains(got, "37") {
		t.Fatalf("the warehouse's dashboard: %q", got)
	}
	admin := testenv.NewUI(t, h.URL, 20*time.Second)
	admin.Login("admin@example.org", uiPassword)
	admin.Open("/admin", "#stock-by-site")
	if got := admin.Text("#stock-by-site"); !strings.Contains(got, "40") { // 37 chargers and 3 cases at the warehouse
		t.Fatalf("the network's dashboard: %q", got)
	}
}

// TestAccessoriesDemoDay (issue 29) is the issue's day on the demo network,
// through the pages: the Belleville space sells a phone with a charger and
// a case (two scans, three clicks); the warehouse receives a box of 40
// chargers and ships 10; Belleville counts 9 on arrival and sees one
// missing; its stock page and dashboard agree with the ledger.
func TestAccessoriesDemoDay(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, paris := demoAccount(t, svc, "belleville@demo.tremplin.local")
	warehouse := demoAccountIn(t, net, "entrepot@demo.tremplin.local")
	voucher, _, _ := strings.Cut(net.Vouchers[0], " ")
	var phone string
	svc.db.Table("devices").Where("site_id = ? AND state = 'in_stock' AND category = 'smartphone'", paris).Order("tag").Limit(1).Pluck("tag", &phone)
	var charger, etui int64
	svc.db.Table("accessories").Where("kind = 'charger'").Pluck("id", &charger)
	svc.db.Table("accessories").Where("kind = 'case'").Pluck("id", &etui)
	ledger := func(site, accessory int64) (n int) {
		svc.db.Raw(`SELECT COALESCE(SUM(quantity), 0) FROM accessory_movements WHERE site_id = ? AND accessory_id = ?`, site, accessory).Scan(&n)
		return n
	}
	before, casesBefore := ledger(paris, charger), ledger(paris, etui)

	// The sale: scan the voucher, scan the phone, a click on each
	// accessory, a click on cash.
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Open("/caisse", "#till")
	ui.Scan(voucher, "#voucher")
	ui.Scan(phone, "#till-added")
	ui.ClickText("Chargeur USB-C 20 W")
	ui.ClickText("Étui de protection")
	ui.Follow("#pay-cash")
	ui.Do(chromedp.WaitVisible("#sale-done"))
	if got := ui.Text("#sale-items"); !strings.Contains(got, phone) || !strings.Contains(got, "Chargeur USB-C 20 W") || !strings.Contains(got, "Étui de protection") {
		t.Fatalf("the sale: %q", got)
	}

	// The warehouse: a box of 40 received, 10 shipped to Belleville.
	wh := testenv.NewUI(t, h.URL, 20*time.Second)
	wh.Login(warehouse.Email, warehouse.Password)
	wh.Open("/accessoires", "#movement-form")
	wh.Do(chromedp.SetValue("#move-accessory", fmt.Sprint(charger)), chromedp.SendKeys("#move-quantity", "40"))
	wh.Follow("#record-movement")
	wh.Open("/transferts/nouveau", "#transfer-form")
	wh.Do(chromedp.SetValue("#to_site_id", fmt.Sprint(paris)), chromedp.SendKeys(fmt.Sprintf("#acc_%d", charger), "10"))
	wh.Follow("#create-transfer")
	wh.Follow("#ship")
	var tr int64
	svc.db.Table("transfers").Order("id DESC").Limit(1).Pluck("id", &tr)

	// Belleville counts 9.
	field := fmt.Sprintf("#acc_%d", charger)
	ui.Open(fmt.Sprintf("/transferts/%d/reception", tr), field)
	ui.Do(chromedp.SendKeys(field, "9"))
	ui.ClickText("Terminer la réception")
	ui.Do(chromedp.WaitVisible("#confirm-missing"))
	ui.ClickText("Terminer quand même")
	ui.Do(chromedp.WaitVisible("#transfer-accessories"))
	if got := ui.Text("#transfer-accessories"); !strings.Contains(got, "1 manquant à la réception") {
		t.Fatalf("the transfer: %q", got)
	}

	// The pages agree with the ledger: one sold, nine in.
	want := before - 1 + 9
	if got, cases := ledger(paris, charger), ledger(paris, etui); got != want || cases != casesBefore-1 {
		t.Fatalf("Belleville's ledger: %d chargers, want %d; %d cases, want %d", got, want, cases, casesBefore-1)
	}
	ui.Open("/stock", "#accessory-shelf")
	if got := ui.Text("#accessory-shelf tbody tr:first-child"); !strings.Contains(got, "Chargeur USB-C 20 W") || !strings.Contains(got, fmt.Sprint(want)) {
		t.Fatalf("the stock page, want %d chargers: %q", want, got)
	}
	ui.Open("/tableau-de-bord", "#accessory-stock-now")
	if got := ui.Text("#accessory-stock-now"); !strings.Contains(got, fmt.Sprint(want)) {
		t.Fatalf("the dashboard, want %d chargers: %q", want, got)
	}
	ui.Shot("demo-dashboard-accessories")
	if b, err := svc.accessories.Check(t.Context()); err != nil || len(b) != 0 {
		t.Fatalf("check: %v %v", b, err)
	}
	if b, err := checkFigures(t.Context(), svc.db); err != nil || len(b) != 0 {
		t.Fatalf("the figures: %v %v", b, err)
	}
}

// demoAccountIn finds another account of a demo network already seeded.
func demoAccountIn(t *testing.T, net demo.Network, email string) partners.DemoAccount {
	t.Helper()
	for _, a := range net.Accounts {
		if a.Email == email {
			return a
		}
	}
	t.Fatalf("no demo account %s", email)
	return partners.DemoAccount{}
}
