package distribution_test

// Tests for the holes an attack found (issue 10): each failed before its fix.

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestYearlyLimitHoldsUnderConcurrency: one person, three vouchers of one
// device each, three devices, a limit of two a year, three sales at once:
// exactly two go through, round after round. Before, on PostgreSQL, all
// three did (only the voucher row was locked; the person's count was not).
func TestYearlyLimitHoldsUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	for round := range 5 {
		b := f.beneficiary("prescriber", map[string]any{"first_name": "Awa", "last_name": fmt.Sprintf("Diallo %d", round)})
		codes := make([]string, 3)
		devices := make([]int64, 3)
		for i := range codes {
			codes[i] = f.http.Do("POST", "/api/v1/vouchers", f.tokens["prescriber"], map[string]any{"beneficiary_id": id(b),
				"device_categories": []string{"smartphone"}, "devices": 1, "recharges": 0, "valid_days": 30}).Expect(t, 201).Map(t)["code"].(string)
			devices[i] = f.device("space", "smartphone", 3000)
		}
		statuses := race(f, 3, func(i int) *testenv.Response {
			return f.sell("space", fmt.Sprintf("limit-%d-%d", round, i), map[string]any{"voucher_code": codes[i], "items": []any{dev(devices[i])}})
		})
		if statuses[201] != 2 || statuses[409] != 1 {
			t.Fatalf("round %d: statuses %v, want two sales and one policy-limit", round, statuses)
		}
		var sold int64
		f.db.Raw(`SELECT COUNT(*) FROM sale_lines l JOIN sales s ON s.id = l.sale_id WHERE s.beneficiary_id = ? AND l.kind = 'device'`, id(b)).Scan(&sold)
		if sold != 2 {
			t.Fatalf("round %d: %d devices sold to one person, the limit is 2", round, sold)
		}
	}
	f.assertSalesClean()
}

// TestNoSaleCommitsOnAClosedDay: 150 recharge sales race a closing recorded
// 50 ms in. The closing counts exactly what the day holds, and no sale lands
// after it. Before, on PostgreSQL, the closing said 127 and the day held 150.
func TestNoSaleCommitsOnAClosedDay(t *testing.T) {
	f := newFixture(t)
	const n = 150
	p := f.cards("space", n)
	codes := make([]string, n)
	for i := range codes {
		codes[i] = f.voucherWith(0, 1)
	}
	site := f.orgs["space"].ID
	today := f.clock.Now().In(mustZone(t, "Europe/Paris")).Format(time.DateOnly)
	var wg sync.WaitGroup
	var closing *testenv.Response
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(50 * time.Millisecond)
		closing = f.http.Do("POST", fmt.Sprintf("/api/v1/sites/%d/closing", site), f.tokens["space"], map[string]any{"date": today, "counted_cash_cents": 0})
	}()
	statuses := race(f, n, func(i int) *testenv.Response {
		return f.sell("space", fmt.Sprintf("closing-%d", i), map[string]any{"voucher_code": codes[i], "items": []any{rech(p, 1)}})
	})
	wg.Wait()
	closing.Expect(t, 201)
	var counted struct{ Count int64 }
	closing.Decode(t, &counted)
	var held int64
	f.db.Table("sales").Where("site_id = ? AND local_date = ?", site, today).Count(&held)
	if counted.Count != held {
		t.Fatalf("the closing counted %d sales, the day holds %d (statuses %v)", counted.Count, held, statuses)
	}
	if int64(statuses[201]) != held || statuses[201]+statuses[409] != n {
		t.Fatalf("statuses %v, %d sales held", statuses, held)
	}
	t.Logf("%d sales before the closing, %d refused day-closed", held, statuses[409])
	f.assertSalesClean()
}

// TestVoucherGuessingThroughSalesIsLimited: a sale naming an unknown or
// mistyped voucher counts as a failed lookup, is audited, and past the limit
// is refused with 429 like GET /vouchers/{code}. Before, sales answered 404
// and 409 without limit nor audit: an oracle for codes.
func TestVoucherGuessingThroughSalesIsLimited(t *testing.T) {
	f := newFixture(t, distribution.LookupLimits{Window: 15 * time.Minute, Max: 5})
	real := f.voucherWith(1, 0)
	guess := func(i int) string {
		c, _ := distribution.NewCode()
		return distribution.FormatCode(c)
	}
	for i := range 3 {
		f.sell("space", fmt.Sprintf("guess-%d", i), map[string]any{"voucher_code": guess(i), "items": []any{dev(999999)}}).ExpectProblem(t, 404)
	}
	typo := []byte(real)
	if typo[1] == 'A' {
		typo[1] = 'B'
	} else {
		typo[1] = 'A'
	}
	f.sell("space", "typo", map[string]any{"voucher_code": string(typo), "items": []any{dev(999999)}}).ExpectProblem(t, 422)
	f.http.Do("GET", "/api/v1/vouchers/"+guess(9), f.tokens["space"], nil).ExpectProblem(t, 404)
	var failures int64
	f.db.Table("audit_log").Where("action = 'voucher.lookup_failed'").Count(&failures)
	if failures != 5 {
		t.Fatalf("%d failed lookups audited, want 5", failures)
	}
	// Over the limit: sales, lookups and scans all say 429, even for a real code.
	f.sell("space", "guess-real", map[string]any{"voucher_code": real, "items": []any{dev(999999)}}).ExpectProblem(t, 429)
	f.sell("space", "guess-more", map[string]any{"voucher_code": guess(10), "items": []any{dev(999999)}}).ExpectProblem(t, 429)
	f.http.Do("GET", "/api/v1/vouchers/"+real, f.tokens["space"], nil).ExpectProblem(t, 429)
	// Another user is not held back by it.
	d := f.device("space", "smartphone", 3000)
	f.sell("admin", "other-user", map[string]any{"voucher_code": real, "items": []any{dev(d)}}).Expect(t, 201)
}

// TestReplayShowingPINsIsAudited: a replayed Idempotency-Key that answers the
// PINs again leaves an audit entry, as a receipt reprint does. Before, it
// left none.
func TestReplayShowingPINsIsAudited(t *testing.T) {
	f := newFixture(t)
	p := f.cards("space", 2)
	code := f.voucherWith(0, 1)
	first := f.sell("space", "pins-once", map[string]any{"voucher_code": code, "items": []any{rech(p, 1)}}).Expect(t, 201)
	again := f.sell("space", "pins-once", map[string]any{"voucher_code": code, "items": []any{rech(p, 1)}}).Expect(t, 201)
	if again.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(again.Body), `"pin":"PIN-`) {
		t.Fatalf("replay %s", again.Body)
	}
	var entries []struct {
		Action   string
		EntityID string
		UserID   *int64
		Data     string
	}
	f.db.Table("audit_log").Where("action = 'sale.replay'").Find(&entries)
	if len(entries) != 1 || entries[0].EntityID != fmt.Sprint(first.Map(t)["id"]) || entries[0].UserID == nil ||
		!strings.Contains(entries[0].Data, `"pins":1`) {
		t.Fatalf("audit of the replay: %+v", entries)
	}
	if strings.Contains(entries[0].Data, "PIN-") {
		t.Fatal("the audit holds a PIN")
	}
}

// TestSaleErrorListIsBounded: 2,000 copies of one device give a short
// answer. Before, each duplicate was its own error.
func TestSaleErrorListIsBounded(t *testing.T) {
	f := newFixture(t)
	items := make([]any, 2000)
	for i := range items {
		items[i] = dev(1)
	}
	r := f.sell("space", "many", map[string]any{"voucher_code": f.voucherWith(1, 0), "items": items})
	p := r.ExpectProblem(t, 422)
	if n := len(p["errors"].([]any)); n > 10 {
		t.Fatalf("%d errors for one list too long", n)
	}
	if len(r.Body) > 2000 {
		t.Fatalf("answer of %d bytes: %.300s", len(r.Body), r.Body)
	}
}

// TestControlCharactersInDistributionFields: names, reasons and codes with a
// control character are 422s naming the field; nothing is written.
func TestControlCharactersInDistributionFields(t *testing.T) {
	f := newFixture(t)
	code := f.voucherWith(1, 0)
	var before int64
	f.db.Table("beneficiaries").Count(&before)
	for _, c := range []struct {
		method, path, user string
		body               any
		field              string
	}{
		{"POST", "/api/v1/beneficiaries", "prescriber", map[string]any{"first_name": "Jean\x00", "last_name": "Dupont"}, "first_name"},
		{"POST", "/api/v1/beneficiaries", "prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont", "postal_code": "75\x0b020"}, "postal_code"},
		{"POST", "/api/v1/vouchers/" + code + "/revoke", "prescriber", map[string]any{"reason": "perdu\x00"}, "reason"},
		{"POST", "/api/v1/vouchers", "prescriber", map[string]any{"beneficiary_id": 1, "device_categories": []string{"smart\x00phone"}, "devices": 1, "valid_days": 3}, "device_categories[0]"},
		{"GET", "/api/v1/beneficiaries?q=%00", "prescriber", nil, "q"},
		{"GET", "/api/v1/vouchers/" + url0(code), "space", nil, "code"},
	} {
		r := f.http.Do(c.method, c.path, f.tokens[c.user], c.body)
		p := r.ExpectProblem(t, 422)
		b, _ := json.Marshal(p["errors"])
		if !strings.Contains(string(b), `"field":"`+c.field+`"`) {
			t.Errorf("%s %s: errors %s do not name %q", c.method, c.path, b, c.field)
		}
	}
	var after int64
	f.db.Table("beneficiaries").Count(&after)
	var status string
	f.db.Raw(`SELECT status FROM vouchers`).Scan(&status)
	if after != before || status != "active" {
		t.Fatalf("beneficiaries %d → %d, voucher %s", before, after, status)
	}
}

func url0(code string) string { return code[:4] + "%00" + code[4:] }

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestSalesRenewalsRefundsAndClosingsTogether: sales, renewals, refunds and
// a closing race on the same people, vouchers and site. The locks the sale
// takes (the site shared, then the person, then the voucher) follow the
// order the others take: no deadlock, so no 500, and the books balance.
func TestSalesRenewalsRefundsAndClosingsTogether(t *testing.T) {
	f := newFixture(t)
	p := f.cards("space", 40)
	const people = 6
	codes := make([]string, people)
	devices := make([]int64, people)
	sold := make([]map[string]any, people)
	for i := range codes {
		codes[i] = f.voucherWith(2, 4)
		devices[i] = f.device("space", "smartphone", 3000)
		d := f.device("space", "smartphone", 3000)
		sold[i] = f.sell("space", fmt.Sprintf("first-%d", i), map[string]any{"voucher_code": codes[i], "items": []any{dev(d)}}).Expect(t, 201).Map(t)
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range people {
		for kind := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r *testenv.Response
				switch kind {
				case 0:
					r = f.sell("space", fmt.Sprintf("mixed-%d", i), map[string]any{"voucher_code": codes[i], "items": []any{dev(devices[i]), rech(p, 1)}})
				case 1:
					r = f.http.Do("POST", "/api/v1/vouchers/"+codes[i]+"/renew", f.tokens["prescriber"], map[string]any{"valid_days": 30})
				case 2:
					r = f.http.Do("POST", fmt.Sprintf("/api/v1/sales/%v/refund", sold[i]["id"]), f.tokens["space"],
						map[string]any{"reason": "écran fissuré", "device_ids": []any{sold[i]["items"].([]any)[0].(map[string]any)["device_id"]}})
				case 3:
					r = f.sell("space", fmt.Sprintf("recharge-%d", i), map[string]any{"voucher_code": codes[i], "items": []any{rech(p, 1)}})
				}
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
			}()
		}
	}
	today := f.clock.Now().In(mustZone(t, "Europe/Paris")).Format(time.DateOnly)
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := f.http.Do("POST", fmt.Sprintf("/api/v1/sites/%d/closing", f.orgs["space"].ID), f.tokens["space"], map[string]any{"date": today, "counted_cash_cents": 0})
		mu.Lock()
		statuses[r.Status]++
		mu.Unlock()
	}()
	wg.Wait()
	if statuses[500] > 0 || statuses[0] > 0 {
		t.Fatalf("statuses %v: a deadlock or a failure", statuses)
	}
	t.Logf("statuses %v", statuses)
	f.assertSalesClean()
}

// TestConcurrentLookupsMeetTheLimit: 100 lookups of unknown codes by one
// counter user released together check at most the limit's number of codes
// (each failure audited), the rest 429. Before, 29 of 100 were checked
// against a limit of 20.
func TestConcurrentLookupsMeetTheLimit(t *testing.T) {
	f := newFixture(t, distribution.LookupLimits{Window: 15 * time.Minute, Max: 20})
	var mu sync.Mutex
	answers := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			c, _ := distribution.NewCode()
			<-start
			r := f.http.Do("GET", "/api/v1/vouchers/"+c, f.tokens["space"], nil)
			mu.Lock()
			answers[r.Status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	var failed int64
	f.db.Table("audit_log").Where("action = 'voucher.lookup_failed'").Count(&failed)
	if failed > 20 || answers[404] != int(failed) || answers[404]+answers[429] != 100 {
		t.Fatalf("%d codes checked (limit 20), answers %v", failed, answers)
	}
}

// TestNamesLookingAlike: a name with a direction override or a zero-width
// character is refused like a control character, for people as for devices
// and organisations; a name typed with Cyrillic letters that look Latin is
// hinted as the person already recorded. Before, « \u202eahcïA » and
// « Аїcha » were stored without a hint, while device brands refused them.
func TestNamesLookingAlike(t *testing.T) {
	f := newFixture(t)
	first := f.beneficiary("prescriber", map[string]any{"first_name": "Aïcha", "last_name": "Benali", "birth_year": 1987})
	for _, name := range []string{"\u202eahcïA", "Aï\u200dcha", "Aïcha\u2066"} {
		p := f.http.Do("POST", "/api/v1/beneficiaries", f.tokens["prescriber"], map[string]any{"first_name": name, "last_name": "Benali"}).ExpectProblem(t, 422)
		if !strings.Contains(fmt.Sprint(p["errors"]), "first_name") {
			t.Errorf("%q: %v", name, p["errors"])
		}
	}
	cyrillic := f.beneficiary("prescriber", map[string]any{"first_name": "Аїcha", "last_name": "Bеnali", "birth_year": 1987})
	if fmt.Sprint(cyrillic["possible_duplicates"]) != fmt.Sprintf("[%v]", first["id"]) {
		t.Fatalf("a lookalike name: duplicate hints %v", cyrillic["possible_duplicates"])
	}
	// The search finds both from the Latin spelling.
	found := f.http.Do("GET", "/api/v1/beneficiaries?q=aicha", f.tokens["prescriber"], nil).Expect(t, 200).Map(t)
	if n := len(found["items"].([]any)); n != 2 {
		t.Fatalf("search aicha found %d people", n)
	}
	f.http.Do("POST", "/api/v1/organizations", f.tokens["admin"], map[string]any{"kind": "space", "name": "Espace\u202e"}).ExpectProblem(t, 422)
}
