package distribution_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

// device puts a priced device in stock at a site and returns its id.
func (f *fixture) device(site, category string, price int64) int64 {
	f.t.Helper()
	var don int64
	f.db.Raw(`SELECT id FROM donations LIMIT 1`).Scan(&don)
	now := database.Now()
	if don == 0 {
		f.db.Exec(`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) VALUES (?, ?, '2026-01-01', ?)`, f.orgs["donor"].ID, f.orgs["warehouse"].ID, now)
		f.db.Raw(`SELECT id FROM donations LIMIT 1`).Scan(&don)
	}
	var n int64
	f.db.Table("devices").Count(&n)
	if err := f.db.Exec(`INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
		VALUES (?, ?, ?, 'Samsung', 'Galaxy A52', '{}', 'B', ?, 'in_stock', ?, ?, ?)`, fmt.Sprintf("TEL-%05d", n+1), don, category, price, f.orgs[site].ID, now, now).Error; err != nil {
		f.t.Fatal(err)
	}
	var id int64
	f.db.Raw(`SELECT MAX(id) FROM devices`).Scan(&id)
	var fig figures.Tally // what its history would have counted: on the shelf
	fig.Move(0, "", f.orgs[site].ID, "in_stock", category)
	if err := fig.Flush(f.db.DB); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// cards puts n recharge cards of a new product at a site.
func (f *fixture) cards(site string, n int) int64 {
	f.t.Helper()
	now := database.Now()
	f.db.Exec(`INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at)
		VALUES (?, 'Recharge 10 €', 1000, 200, 0, true, ?, ?)`, f.orgs["operator"].ID, now, now)
	var p int64
	f.db.Raw(`SELECT MAX(id) FROM recharge_products`).Scan(&p)
	var b strings.Builder
	b.WriteString("serial,pin,expires_on\n")
	for i := range n {
		fmt.Fprintf(&b, "P%dC%04d,PIN-%d-%04d,%s\n", p, i, p, i, time.Now().AddDate(0, 6, 0).Format(time.DateOnly))
	}
	if _, err := f.rch.Import(context.Background(), admin, p, f.orgs[site].ID, strings.NewReader(b.String()), nil); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// voucherFor issues a voucher with given entitlements and returns its code.
func (f *fixture) voucherWith(devices, recharges int, cats ...string) string {
	f.t.Helper()
	if cats == nil {
		cats = []string{"smartphone"}
	}
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont"})
	return f.http.Do("POST", "/api/v1/vouchers", f.tokens["prescriber"], map[string]any{"beneficiary_id": id(b),
		"device_categories": cats, "devices": devices, "recharges": recharges, "valid_days": 30}).Expect(f.t, 201).Map(f.t)["code"].(string)
}

func (f *fixture) sell(user, key string, body map[string]any) *testenv.Response {
	f.t.Helper()
	if body["site_id"] == nil {
		body["site_id"] = f.orgs["space"].ID
	}
	if body["payment_method"] == nil {
		body["payment_method"] = "cash"
	}
	return f.http.Do("POST", "/api/v1/sales", f.tokens[user], body, "Idempotency-Key", key)
}

func dev(id int64) map[string]any { return map[string]any{"device_id": id} }
func rech(p int64, q int) map[string]any {
	return map[string]any{"product_id": p, "quantity": q}
}

func (f *fixture) count(table string) int64 {
	var n int64
	f.db.Table(table).Count(&n)
	return n
}

func TestSaleOfADeviceAndRecharges(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 4500)
	p := f.cards("space", 5)
	code := f.voucherWith(1, 2)
	r := f.sell("space", "till-1-0001", map[string]any{"voucher_code": strings.ToLower(code), "items": []any{dev(d), rech(p, 2)}}).Expect(t, 201)
	sale := r.Map(t)
	items := sale["items"].([]any)
	if sale["total_cents"].(float64) != 4900 || len(items) != 3 {
		t.Fatalf("sale %v", sale)
	}
	pins := map[string]bool{}
	for _, it := range items[1:] {
		m := it.(map[string]any)
		if m["kind"] != "recharge" || m["serial"] == "" || !strings.HasPrefix(m["pin"].(string), "PIN-") || m["face_value_cents"].(float64) != 1000 {
			t.Fatalf("recharge line %v", m)
		}
		pins[m["pin"].(string)] = true
	}
	if len(pins) != 2 {
		t.Fatal("the same PIN twice")
	}
	v := sale["voucher"].(map[string]any)
	if v["status"] != "used" || fmt.Sprint(v["remaining"]) != "map[devices:0 recharges:0]" {
		t.Fatalf("voucher after the sale %v", v)
	}
	var state string
	f.db.Raw(`SELECT state FROM devices WHERE id = ?`, d).Scan(&state)
	if state != "sold" {
		t.Fatalf("device %s", state)
	}
	// Reading the sale again never shows PINs; the receipt does, and says duplicata from the second print.
	again := f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%v", sale["id"]), f.tokens["space"], nil).Expect(t, 200)
	if strings.Contains(string(again.Body), "PIN-") {
		t.Fatal("GET /sales shows PINs")
	}
	f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%v", sale["id"]), f.tokens["space2"], nil).ExpectProblem(t, 404)
	roll := f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%v/receipt.pdf", sale["id"]), f.tokens["space"], nil).Expect(t, 200).Body
	if w, h := testenv.PDFPageSize(t, roll); w < 79 || w > 81 || h > 200 || testenv.PDFPages(t, roll) != 1 {
		t.Errorf("80 mm receipt is %.0f × %.0f mm: want one page cut after the text", w, h)
	}
	first := testenv.PDFText(t, roll)
	for pin := range pins {
		if !strings.Contains(first, pin) {
			t.Errorf("receipt lacks PIN %s", pin)
		}
	}
	for _, want := range []string{"Espace Belleville", "Galaxy A52", "49,00", "Paiement : Espèces", "Garantie : 6 mois", "Prix solidaire",
		"reste 0 appareil, 0 recharge."} {
		if !strings.Contains(strings.Join(strings.Fields(first), " "), want) { // a roll wraps where its words fall
			t.Errorf("receipt lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "DUPLICATA") {
		t.Error("the first print says duplicata")
	}
	second := testenv.PDFText(t, f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%v/receipt.pdf?format=a4", sale["id"]), f.tokens["space"], nil).Expect(t, 200).Body)
	if !strings.Contains(second, "DUPLICATA") {
		t.Error("a reprint does not say duplicata")
	}
	var prints int64
	f.db.Table("audit_log").Where("action = 'sale.receipt'").Count(&prints)
	if prints != 2 {
		t.Fatalf("%d receipt prints audited", prints)
	}
}

// TestEveryConflictReason: each 409 names its reason and changes nothing.
func TestEveryConflictReason(t *testing.T) {
	f := newFixture(t)
	inStock := f.device("space", "smartphone", 3000)
	laptop := f.device("space", "laptop", 9000)
	elsewhere := f.device("space2", "smartphone", 3000)
	p := f.cards("space", 1)
	expired := f.voucherWith(1, 1)
	f.db.Exec(`UPDATE vouchers SET expires_at = ? WHERE code = ?`, time.Now().Add(-time.Hour), strings.ReplaceAll(expired, "-", ""))
	revoked := f.voucherWith(1, 1)
	f.http.Do("POST", "/api/v1/vouchers/"+revoked+"/revoke", f.tokens["prescriber"], map[string]any{"reason": "perdu"}).Expect(t, 200)
	rechargeOnly := f.voucherWith(0, 5)
	good := f.voucherWith(2, 2)
	cases := []struct {
		reason string
		body   map[string]any
	}{
		{"device-unavailable", map[string]any{"voucher_code": good, "items": []any{dev(elsewhere)}}},
		{"device-unavailable", map[string]any{"voucher_code": good, "items": []any{dev(999999)}}},
		{"stock-short", map[string]any{"voucher_code": good, "items": []any{rech(p, 2)}}},
		{"voucher-inactive", map[string]any{"voucher_code": expired, "items": []any{dev(inStock)}}},
		{"voucher-inactive", map[string]any{"voucher_code": revoked, "items": []any{dev(inStock)}}},
		{"entitlement-exhausted", map[string]any{"voucher_code": rechargeOnly, "items": []any{dev(inStock)}}},
		{"category-not-allowed", map[string]any{"voucher_code": good, "items": []any{dev(laptop)}}},
		// A good device with a bad one: nothing of it is sold.
		{"device-unavailable", map[string]any{"voucher_code": good, "items": []any{dev(inStock), dev(elsewhere)}}},
	}
	for i, c := range cases {
		p := f.sell("space", fmt.Sprintf("k-%d", i), c.body).ExpectProblem(t, 409)
		if !strings.HasSuffix(p["type"].(string), "/"+c.reason) {
			t.Errorf("case %d: type %v, want %s (%v)", i, p["type"], c.reason, p["detail"])
		}
	}
	if n := f.count("sales"); n != 0 {
		t.Fatalf("%d sales after refusals", n)
	}
	var st string
	f.db.Raw(`SELECT state FROM devices WHERE id = ?`, inStock).Scan(&st)
	if st != "in_stock" {
		t.Fatalf("device %s after a refused sale", st)
	}
	// Policy: two devices a year per person, across vouchers.
	f.db.Exec(`UPDATE vouchers SET beneficiary_id = (SELECT beneficiary_id FROM vouchers WHERE code = ?)`, strings.ReplaceAll(good, "-", ""))
	other := f.voucherWith(3, 0)
	f.db.Exec(`UPDATE vouchers SET beneficiary_id = (SELECT beneficiary_id FROM vouchers WHERE code = ?) WHERE code = ?`, strings.ReplaceAll(good, "-", ""), strings.ReplaceAll(other, "-", ""))
	d1, d2, d3 := f.device("space", "smartphone", 100), f.device("space", "smartphone", 100), f.device("space", "smartphone", 100)
	f.sell("space", "pol-1", map[string]any{"voucher_code": good, "items": []any{dev(d1), dev(d2)}}).Expect(t, 201)
	p2 := f.sell("space", "pol-2", map[string]any{"voucher_code": other, "items": []any{dev(d3)}}).ExpectProblem(t, 409)
	if !strings.HasSuffix(p2["type"].(string), "/policy-limit") {
		t.Fatalf("type %v", p2["type"])
	}
	// Roles and sites.
	f.sell("space2", "site-1", map[string]any{"voucher_code": other, "items": []any{dev(d3)}}).ExpectProblem(t, 403)
	f.sell("prescriber", "site-2", map[string]any{"voucher_code": other, "items": []any{dev(d3)}}).ExpectProblem(t, 403)
	// Bad input.
	for i, bad := range []map[string]any{
		{"voucher_code": other, "items": []any{}},
		{"voucher_code": other, "items": []any{dev(d3), dev(d3)}},
		{"voucher_code": other, "items": []any{map[string]any{"device_id": d3, "product_id": p}}},
		{"voucher_code": other, "payment_method": "bitcoin", "items": []any{dev(d3)}},
		{"voucher_code": "K7QM-3XPD-9RTA", "items": []any{dev(d3)}},
		{"voucher_code": other, "items": []any{rech(p, 0)}},
	} {
		f.sell("space", fmt.Sprintf("bad-%d", i), bad).ExpectProblem(t, 422)
	}
	f.http.Do("POST", "/api/v1/sales", f.tokens["space"], map[string]any{"site_id": f.orgs["space"].ID, "voucher_code": other,
		"payment_method": "cash", "items": []any{dev(d3)}}).ExpectProblem(t, 422) // no Idempotency-Key
}

func TestIdempotency(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 3000)
	p := f.cards("space", 3)
	code := f.voucherWith(1, 1)
	body := map[string]any{"voucher_code": code, "items": []any{dev(d), rech(p, 1)}}
	first := f.sell("space", "same-key", body).Expect(t, 201)
	replay := f.sell("space", "same-key", map[string]any{"voucher_code": code, "items": []any{dev(d), rech(p, 1)}}).Expect(t, 201)
	if replay.Map(t)["id"] != first.Map(t)["id"] || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %s", replay.Body)
	}
	if string(replay.Map(t)["items"].([]any)[1].(map[string]any)["pin"].(string)) == "" {
		t.Fatal("the replayed answer lost the PIN the till needs")
	}
	f.sell("space", "same-key", map[string]any{"voucher_code": code, "items": []any{dev(d)}}).ExpectProblem(t, 422)
	if n := f.count("sales"); n != 1 {
		t.Fatalf("%d sales", n)
	}
	// The stored key holds no PIN in clear.
	var dump []string
	f.db.Raw(`SELECT request_hash FROM idempotency_keys`).Scan(&dump)
	if strings.Contains(strings.Join(dump, ""), "PIN-") {
		t.Fatal("PIN stored with the key")
	}
}

func TestTwentyRetriesOfOneKey(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 3000)
	code := f.voucherWith(1, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[any]int{}
	statuses := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.sell("space", "retry-key", map[string]any{"voucher_code": code, "items": []any{dev(d)}})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == 201 {
				ids[r.Field("id")]++
			}
		}()
	}
	wg.Wait()
	if n := f.count("sales"); n != 1 || len(ids) != 1 {
		t.Fatalf("%d sales, answers %v, statuses %v", n, ids, statuses)
	}
	if statuses[201]+statuses[409] != 20 {
		t.Fatalf("statuses %v", statuses)
	}
	f.assertSalesClean()
}

// TestFortyBuyersOneDevice: 40 goroutines with different vouchers buy the
// same device: exactly one sale.
func TestFortyBuyersOneDevice(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 3000)
	codes := make([]string, 40)
	for i := range codes {
		codes[i] = f.voucherWith(1, 0)
	}
	statuses := race(f, 40, func(i int) *testenv.Response {
		return f.sell("space", fmt.Sprintf("buyer-%d", i), map[string]any{"voucher_code": codes[i], "items": []any{dev(d)}})
	})
	if statuses[201] != 1 || statuses[409] != 39 {
		t.Fatalf("statuses %v", statuses)
	}
	var used int64
	f.db.Table("vouchers").Where("devices_used > 0").Count(&used)
	if used != 1 {
		t.Fatalf("%d vouchers consumed", used)
	}
	f.assertSalesClean()
}

func TestThirtyBuyersTenCards(t *testing.T) {
	f := newFixture(t)
	p := f.cards("space", 10)
	codes := make([]string, 30)
	for i := range codes {
		codes[i] = f.voucherWith(0, 1)
	}
	var mu sync.Mutex
	pins := map[string]int{}
	statuses := race(f, 30, func(i int) *testenv.Response {
		r := f.sell("space", fmt.Sprintf("card-%d", i), map[string]any{"voucher_code": codes[i], "items": []any{rech(p, 1)}})
		if r.Status == 201 {
			mu.Lock()
			if items, ok := r.Field("items").([]any); ok && len(items) == 1 {
				pins[fmt.Sprint(items[0].(map[string]any)["pin"])]++
			}
			mu.Unlock()
		}
		return r
	})
	if statuses[201] != 10 || statuses[409] != 20 || len(pins) != 10 {
		t.Fatalf("statuses %v, %d distinct PINs", statuses, len(pins))
	}
	f.assertSalesClean()
}

func TestOneVoucherTwoConcurrentSales(t *testing.T) {
	f := newFixture(t)
	d1, d2 := f.device("space", "smartphone", 3000), f.device("space", "smartphone", 3000)
	code := f.voucherWith(1, 0)
	devices := []int64{d1, d2}
	statuses := race(f, 2, func(i int) *testenv.Response {
		return f.sell("space", fmt.Sprintf("v-%d", i), map[string]any{"voucher_code": code, "items": []any{dev(devices[i])}})
	})
	if statuses[201] != 1 || statuses[409] != 1 {
		t.Fatalf("statuses %v", statuses)
	}
	var sold int64
	f.db.Table("devices").Where("state = 'sold'").Count(&sold)
	if sold != 1 {
		t.Fatalf("%d devices sold", sold)
	}
	f.assertSalesClean()
}

func race(f *fixture, n int, do func(i int) *testenv.Response) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(i)
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return statuses
}

// TestCrashMidSale cancels the request's context as the sale lines are
// written (the device and the cards already taken): the transaction dies
// and leaves nothing behind.
func TestCrashMidSale(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 3000)
	p := f.cards("space", 2)
	code := f.voucherWith(1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.db.Callback().Row().Before("gorm:row").Register("test:crash", func(tx *gorm.DB) {
		if strings.Contains(tx.Statement.SQL.String(), "INSERT INTO sale_lines") {
			cancel()
		}
	}); err != nil {
		t.Fatal(err)
	}
	defer f.db.Callback().Row().Remove("test:crash")
	var spaceUser int64
	f.db.Raw(`SELECT id FROM users WHERE email = 'space@example.org'`).Scan(&spaceUser)
	spaceCaller := partners.Caller{UserID: spaceUser, Role: partners.RoleSpace, OrganizationID: f.orgs["space"].ID, OrganizationKind: partners.KindSpace}
	_, _, err := f.svc.Sell(ctx, spaceCaller, "crash-key", saleRequest(f, code, d, p))
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("the sale did not die of its cancelled context: %v", err)
	}
	f.db.Callback().Row().Remove("test:crash")
	var st string
	f.db.Raw(`SELECT state FROM devices WHERE id = ?`, d).Scan(&st)
	var available, keys int64
	f.db.Table("recharge_units").Where("status = 'available'").Count(&available)
	f.db.Table("idempotency_keys").Count(&keys)
	var used int
	f.db.Raw(`SELECT devices_used + recharges_used FROM vouchers`).Scan(&used)
	if f.count("sales") != 0 || f.count("sale_lines") != 0 || st != "in_stock" || available != 2 || keys != 0 || used != 0 {
		t.Fatalf("left behind: %d sales, %d lines, device %s, %d cards available, %d keys, %d used",
			f.count("sales"), f.count("sale_lines"), st, available, keys, used)
	}
	// The till retries with the same key: it goes through, once.
	if _, _, err := f.svc.Sell(context.Background(), spaceCaller, "crash-key", saleRequest(f, code, d, p)); err != nil {
		t.Fatalf("retry after the crash: %v", err)
	}
	f.assertSalesClean()
}

func TestRefunds(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 4500)
	p := f.cards("space", 2)
	code := f.voucherWith(1, 1)
	sale := f.sell("space", "r-1", map[string]any{"voucher_code": code, "items": []any{dev(d)}}).Expect(t, 201).Map(t)
	cardSale := f.sell("space", "r-2", map[string]any{"voucher_code": code, "items": []any{rech(p, 1)}}).Expect(t, 201).Map(t)
	path := fmt.Sprintf("/api/v1/sales/%v/refund", sale["id"])
	f.http.Do("POST", path, f.tokens["space"], map[string]any{"reason": "", "device_ids": []int64{d}}).ExpectProblem(t, 422)
	f.http.Do("POST", path, f.tokens["space"], map[string]any{"reason": "écran", "device_ids": []int64{12345}}).ExpectProblem(t, 422)
	f.http.Do("POST", path, f.tokens["space2"], map[string]any{"reason": "écran", "device_ids": []int64{d}}).ExpectProblem(t, 404)
	r := f.http.Do("POST", path, f.tokens["space"], map[string]any{"reason": "écran noir au bout de 3 jours", "device_ids": []int64{d}}).Expect(t, 200).Map(t)
	if r["items"].([]any)[0].(map[string]any)["refund_id"] == nil || r["voucher"].(map[string]any)["remaining"].(map[string]any)["devices"].(float64) != 1 {
		t.Fatalf("refunded sale %v", r)
	}
	var st string
	f.db.Raw(`SELECT state FROM devices WHERE id = ?`, d).Scan(&st)
	if st != "returned" {
		t.Fatalf("device %s after refund", st)
	}
	f.http.Do("POST", path, f.tokens["space"], map[string]any{"reason": "encore", "device_ids": []int64{d}}).ExpectProblem(t, 409)
	p409 := f.http.Do("POST", fmt.Sprintf("/api/v1/sales/%v/refund", cardSale["id"]), f.tokens["space"], map[string]any{"reason": "erreur"}).ExpectProblem(t, 409)
	if !strings.HasSuffix(p409["type"].(string), "/not-refundable") {
		t.Fatalf("type %v", p409["type"])
	}
	// Past the warranty.
	d2 := f.device("space", "smartphone", 4500)
	code2 := f.voucherWith(1, 0)
	s2 := f.sell("space", "r-3", map[string]any{"voucher_code": code2, "items": []any{dev(d2)}}).Expect(t, 201).Map(t)
	f.clock.Set(f.clock.Now().AddDate(0, 7, 0))
	pw := f.http.Do("POST", fmt.Sprintf("/api/v1/sales/%v/refund", s2["id"]), f.tokens["space"], map[string]any{"reason": "panne", "device_ids": []int64{d2}}).ExpectProblem(t, 409)
	if !strings.HasSuffix(pw["type"].(string), "/warranty-over") {
		t.Fatalf("type %v", pw["type"])
	}
	f.assertSalesClean()
}

// TestClosingInReunion: a sale at 23:30 in La Réunion belongs to that
// Réunion day; a recorded closing locks the day.
func TestClosingInReunion(t *testing.T) {
	f := newFixture(t)
	d := f.device("space2", "smartphone", 4500)
	p := f.cards("space2", 3)
	code := f.voucherWith(1, 2)
	f.clock.Set(time.Date(2026, 11, 23, 19, 30, 0, 0, time.UTC)) // 23:30 in Réunion, still the 23rd there
	f.sell("space2", "reu-1", map[string]any{"site_id": f.orgs["space2"].ID, "voucher_code": code, "items": []any{dev(d)}}).Expect(t, 201)
	f.sell("space2", "reu-2", map[string]any{"site_id": f.orgs["space2"].ID, "payment_method": "card", "voucher_code": code, "items": []any{rech(p, 1)}}).Expect(t, 201)
	site := f.orgs["space2"].ID
	day := f.http.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing?date=2026-11-23", site), f.tokens["space2"], nil).Expect(t, 200).Map(t)
	if day["count"].(float64) != 2 || day["total_cents"].(float64) != 4700 || day["timezone"] != "Indian/Reunion" ||
		day["devices_sold"].(float64) != 1 || day["recharges_sold"].(float64) != 1 ||
		fmt.Sprint(day["totals_by_payment"]) != "map[card:200 cash:4500 free:0]" {
		t.Fatalf("closing of the 23rd %v", day)
	}
	next := f.http.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing?date=2026-11-24", site), f.tokens["space2"], nil).Expect(t, 200).Map(t)
	if next["count"].(float64) != 0 {
		t.Fatalf("the 24th has %v sales", next["count"])
	}
	f.http.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing?date=2026-11-23", site), f.tokens["space"], nil).ExpectProblem(t, 404)
	f.http.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing?date=23/11/2026", site), f.tokens["space2"], nil).ExpectProblem(t, 422)
	rec := f.http.Do("POST", fmt.Sprintf("/api/v1/sites/%d/closing", site), f.tokens["space2"], map[string]any{"date": "2026-11-23", "counted_cash_cents": 4400}).Expect(t, 201).Map(t)
	if rec["recorded"].(map[string]any)["difference_cents"].(float64) != -100 {
		t.Fatalf("recorded %v", rec)
	}
	f.http.Do("POST", fmt.Sprintf("/api/v1/sites/%d/closing", site), f.tokens["space2"], map[string]any{"date": "2026-11-23", "counted_cash_cents": 4500}).ExpectProblem(t, 409)
	closed := f.sell("space2", "reu-3", map[string]any{"site_id": site, "voucher_code": code, "items": []any{rech(p, 1)}}).ExpectProblem(t, 409)
	if !strings.HasSuffix(closed["type"].(string), "/day-closed") {
		t.Fatalf("type %v", closed["type"])
	}
	var l struct{ Items []any }
	f.http.Do("GET", fmt.Sprintf("/api/v1/sales?site_id=%d&date=2026-11-23", site), f.tokens["space2"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("sales of the day %d", len(l.Items))
	}
	f.http.Do("GET", "/api/v1/sales?voucher_code="+code, f.tokens["space2"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("sales of the voucher %d", len(l.Items))
	}
}

func saleRequest(f *fixture, code string, device, product int64) distribution.SaleRequest {
	return distribution.SaleRequest{SiteID: f.orgs["space"].ID, VoucherCode: code, PaymentMethod: "cash",
		Items: []distribution.SaleItem{{DeviceID: device}, {ProductID: product, Quantity: 1}}}
}

func TestCheckFindsBreaches(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 3000)
	code := f.voucherWith(1, 0)
	f.sell("space", "c-1", map[string]any{"voucher_code": code, "items": []any{dev(d)}}).Expect(t, 201)
	// Devices put in stock by SQL have no event: give them one so the state rule holds.
	f.db.Exec(`INSERT INTO device_events (device_id, action, from_state, to_state, at, data)
		SELECT id, 'receive', 'in_transit', 'in_stock', ?, '{}' FROM devices WHERE id NOT IN (SELECT device_id FROM device_events)`, database.Now().Add(-time.Hour))
	// The sale's own "sell" event is newer than that one.
	f.db.Exec(`UPDATE devices SET state = state`)
	b1, _ := f.inv.Check(context.Background())
	b2, _ := f.svc.Check(context.Background())
	if len(b1)+len(b2) != 0 {
		t.Fatalf("a clean database has breaches: %v %v", b1, b2)
	}
	f.db.Exec(`UPDATE vouchers SET devices_used = 0`)
	f.db.Exec(`INSERT INTO device_events (device_id, action, from_state, to_state, at, data) VALUES (?, 'x', 'sold', 'lost', ?, '{}')`, d, database.Now())
	b1, _ = f.inv.Check(context.Background())
	b2, _ = f.svc.Check(context.Background())
	rules := map[string]bool{}
	for _, b := range append(b1, b2...) {
		rules[b.Rule] = true
	}
	if !rules["voucher-entitlements"] || !rules["device-state-event"] {
		t.Fatalf("breaches found: %v %v", b1, b2)
	}
}

// assertSalesClean runs the sales side of `tremplin check`, and compares
// the report figures the sales kept with a recount.
func (f *fixture) assertSalesClean() {
	f.t.Helper()
	b, err := f.svc.Check(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, x := range b {
		f.t.Errorf("breach %s: %s", x.Rule, x.Detail)
	}
	stored, err := figures.Stored(context.Background(), f.db.DB)
	if err != nil {
		f.t.Fatal(err)
	}
	counted, err := figures.Recount(context.Background(), f.db.DB)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range figures.Compare(stored, counted, 10) {
		f.t.Errorf("figure: %s", d)
	}
}

// maxStatementsPerSale is what a sale of a device and two recharge cards
// sends today, the caller's authentication included (engine: count): on
// PostgreSQL the caller, the lookup limit, the key, the site with its
// closings and the voucher's person, the person's lock, the voucher with
// the person's history, the sale, the device with its event, the product,
// its cards, and the last writes as one statement; SQLite sends those last
// writes one by one, and the device's event apart. It was 24 on both
// before; the sales journal added the chain's head taken before the last
// writes (and, on SQLite, its two writes apart). The count is logged on
// each run; a change that adds a round trip to the sale fails here.
var maxStatementsPerSale = map[database.Engine]int{database.SQLite: 21, database.Postgres: 11}

// TestStatementsPerSale counts the statements one sale sends through the
// HTTP API, on the suite's engine.
func TestStatementsPerSale(t *testing.T) {
	f := newFixture(t)
	d := f.device("space", "smartphone", 4500)
	p := f.cards("space", 5)
	code := f.voucherWith(1, 2)
	count := testenv.CountStatements(t, f.db.DB)
	n := count.During(func() {
		f.sell("space", "count-1", map[string]any{"voucher_code": code, "items": []any{dev(d), rech(p, 2)}}).Expect(t, 201)
	})
	t.Logf("one sale (a device, two recharges) sends %d statements on %s", n, f.db.Engine)
	if max := maxStatementsPerSale[f.db.Engine]; n > max {
		t.Fatalf("a sale sends %d statements on %s, more than the %d it sent", n, f.db.Engine, max)
	}
}
