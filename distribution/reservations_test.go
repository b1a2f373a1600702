package distribution_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// availability reads how many of a category a space has free, as a
// prescriber sees it.
func (f *fixture) availability(user, space, category string) float64 {
	f.t.Helper()
	var spaces []map[string]any
	f.http.Do("GET", "/api/v1/availability?category="+category, f.tokens[user], nil).Expect(f.t, 200).Decode(f.t, &spaces)
	for _, s := range spaces {
		if int64(s["site_id"].(float64)) == f.orgs[space].ID {
			n, _ := s["devices"].(map[string]any)[category].(float64)
			return n
		}
	}
	f.t.Fatalf("no space %s in %v", space, spaces)
	return 0
}

// TestReservationSetsADeviceAside (issue 30): the prescriber sees two
// laptops at Belleville and none at Le Port, with the addresses and postal
// codes, no tag; it reserves one for its voucher: one fewer available, the
// device refused to another voucher's sale and to a transfer (409
// device-reserved); the voucher allows no second reservation; another
// prescriber neither sees nor cancels it; the voucher's sale of the
// reserved laptop fulfils it.
func TestReservationSetsADeviceAside(t *testing.T) {
	f := newFixture(t)
	a, b := f.device("space", "laptop", 9000), f.device("space", "laptop", 9000)
	code := f.voucherWith(1, 0, "laptop")
	other := f.voucherWith(1, 0, "laptop")
	var spaces []map[string]any
	f.http.Do("GET", "/api/v1/availability", f.tokens["prescriber"], nil).Expect(t, 200).Decode(t, &spaces)
	if len(spaces) != 2 || spaces[0]["postal_code"] != "75020" || spaces[0]["devices"].(map[string]any)["laptop"] != float64(2) || spaces[0]["tag"] != nil {
		t.Fatalf("availability: %v", spaces)
	}
	f.http.Do("GET", "/api/v1/availability", f.tokens["warehouse"], nil).ExpectProblem(t, 403)
	f.http.Do("GET", "/api/v1/availability?category=spaceship", f.tokens["prescriber"], nil).ExpectProblem(t, 422)

	body := map[string]any{"voucher_code": code, "site_id": f.orgs["space"].ID, "category": "laptop"}
	for _, bad := range []map[string]any{
		{"voucher_code": code, "site_id": f.orgs["space"].ID, "category": "laptop", "days": 31},
		{"voucher_code": code, "site_id": f.orgs["space"].ID},
		{"voucher_code": "", "site_id": f.orgs["space"].ID, "category": "laptop"},
		{"voucher_code": code, "site_id": f.orgs["space"].ID, "category": "laptop", "notify": true},
	} {
		f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], bad).ExpectProblem(t, 422)
	}
	f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], map[string]any{"voucher_code": code, "site_id": f.orgs["space"].ID, "category": "smartphone"}).ExpectProblem(t, 409)
	f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], map[string]any{"voucher_code": code, "site_id": f.orgs["space2"].ID, "category": "laptop"}).ExpectProblem(t, 409)
	f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber2"], body).ExpectProblem(t, 404)
	r := f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], body).Expect(t, 201).Map(t)
	if r["status"] != "active" || r["category"] != "laptop" || r["site_id"] != float64(f.orgs["space"].ID) {
		t.Fatalf("the reservation: %v", r)
	}
	until, _ := time.Parse(time.RFC3339Nano, r["expires_at"].(string))
	if d := until.Sub(f.clock.Now()); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Fatalf("a reservation of default length ends in %s", d)
	}
	reserved := int64(r["device_id"].(float64))
	if reserved != a && reserved != b {
		t.Fatalf("reserved device %d", reserved)
	}
	if n := f.availability("prescriber", "space", "laptop"); n != 1 {
		t.Fatalf("after the reservation, %v laptops shown", n)
	}
	p := f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], body).ExpectProblem(t, 409)
	if p["type"] != "/problems/entitlement-exhausted" {
		t.Fatalf("a second reservation for one device allowed: %v", p)
	}
	p = f.sell("space", "other", map[string]any{"voucher_code": other, "items": []any{dev(reserved)}}).ExpectProblem(t, 409)
	if p["type"] != "/problems/device-reserved" {
		t.Fatalf("the reserved laptop sold to another voucher: %v", p)
	}
	p = f.http.Do("POST", "/api/v1/transfers", f.tokens["admin"], map[string]any{"from_site_id": f.orgs["space"].ID, "to_site_id": f.orgs["space2"].ID,
		"device_ids": []int64{reserved}}).ExpectProblem(t, 409)
	if p["type"] != "/problems/device-reserved" {
		t.Fatalf("the reserved laptop sent away: %v", p)
	}
	// Who sees it: the prescriber and the space, not the other prescriber
	// nor the other space.
	for user, want := range map[string]int{"prescriber": 1, "space": 1, "prescriber2": 0, "space2": 0, "admin": 1} {
		var list []map[string]any
		f.http.Do("GET", "/api/v1/reservations?status=active", f.tokens[user], nil).Expect(t, 200).Decode(t, &list)
		if len(list) != want {
			t.Fatalf("%s sees %d reservations, want %d", user, len(list), want)
		}
	}
	rid := int64(r["id"].(float64))
	f.http.Do("POST", fmt.Sprintf("/api/v1/reservations/%d/cancel", rid), f.tokens["prescriber2"], nil).ExpectProblem(t, 404)
	// The voucher's sale sells it and fulfils the reservation.
	f.sell("space", "mine", map[string]any{"voucher_code": code, "items": []any{dev(reserved)}}).Expect(t, 201)
	var list []map[string]any
	f.http.Do("GET", "/api/v1/reservations", f.tokens["prescriber"], nil).Expect(t, 200).Decode(t, &list)
	if len(list) != 1 || list[0]["status"] != "fulfilled" || list[0]["sale_id"] == nil {
		t.Fatalf("after the sale: %v", list)
	}
	f.http.Do("POST", fmt.Sprintf("/api/v1/reservations/%d/cancel", rid), f.tokens["prescriber"], nil).ExpectProblem(t, 409)
	if n := f.availability("prescriber", "space", "laptop"); n != 1 {
		t.Fatalf("after the sale, %v laptops shown", n)
	}
	f.assertSalesClean()
}

// TestReservationEnds (issue 30): with the clock pinned, a reservation's
// device is free again once its time is over (before the job has run, and
// after), and a cancel frees one at once; the voucher's sale of another
// laptop ends a reservation the voucher no longer covers.
func TestReservationEnds(t *testing.T) {
	f := newFixture(t)
	f.device("space", "laptop", 9000)
	code, other := f.voucherWith(1, 0, "laptop"), f.voucherWith(1, 0, "laptop")
	r := f.http.Do("POST", "/api/v1/reservations", f.tokens["space"], map[string]any{"voucher_code": code, "site_id": f.orgs["space"].ID,
		"category": "laptop", "days": 2}).Expect(t, 201).Map(t)
	f.http.Do("POST", "/api/v1/reservations", f.tokens["space2"], map[string]any{"voucher_code": other, "site_id": f.orgs["space"].ID,
		"category": "laptop"}).ExpectProblem(t, 404)
	p := f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], map[string]any{"voucher_code": other, "site_id": f.orgs["space"].ID,
		"category": "laptop"}).ExpectProblem(t, 409)
	if p["type"] != "/problems/none-available" {
		t.Fatalf("the only laptop reserved twice: %v", p)
	}
	f.clock.Set(f.clock.Now().Add(49 * time.Hour))
	if n := f.availability("prescriber", "space", "laptop"); n != 1 {
		t.Fatalf("after its end, before the job: %v laptops", n)
	}
	var list []map[string]any
	f.http.Do("GET", "/api/v1/reservations", f.tokens["space"], nil).Expect(t, 200).Decode(t, &list)
	if list[0]["status"] != "expired" {
		t.Fatalf("an ended reservation reads %v", list[0]["status"])
	}
	if n, err := f.svc.ExpireReservations(t.Context()); err != nil || n != 1 {
		t.Fatalf("the job ended %d reservations: %v", n, err)
	}
	if n, err := f.svc.ExpireReservations(t.Context()); err != nil || n != 0 {
		t.Fatalf("the job ran again and ended %d: %v", n, err)
	}
	// Another voucher may now reserve it, then cancel: free again.
	r2 := f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], map[string]any{"voucher_code": other, "site_id": f.orgs["space"].ID,
		"category": "laptop"}).Expect(t, 201).Map(t)
	if r2["device_id"] != r["device_id"] {
		t.Fatalf("another laptop reserved: %v", r2)
	}
	f.http.Do("POST", fmt.Sprintf("/api/v1/reservations/%d/cancel", int64(r2["id"].(float64))), f.tokens["prescriber"], nil).Expect(t, 200)
	if n := f.availability("prescriber", "space", "laptop"); n != 1 {
		t.Fatalf("after a cancel: %v laptops", n)
	}
	// A voucher whose sale of another laptop uses its last device: its
	// reservation is cancelled and that laptop freed.
	second := f.device("space", "laptop", 9000)
	r3 := f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], map[string]any{"voucher_code": other, "site_id": f.orgs["space"].ID,
		"category": "laptop"}).Expect(t, 201).Map(t)
	if int64(r3["device_id"].(float64)) == second {
		second = int64(r["device_id"].(float64))
	}
	f.sell("space", "the-other-laptop", map[string]any{"voucher_code": other, "items": []any{dev(second)}}).Expect(t, 201)
	f.http.Do("GET", "/api/v1/reservations?status=cancelled", f.tokens["prescriber"], nil).Expect(t, 200).Decode(t, &list)
	if len(list) != 2 {
		t.Fatalf("cancelled reservations: %v", list)
	}
	if n := f.availability("prescriber", "space", "laptop"); n != 1 {
		t.Fatalf("after the sale of the other laptop: %v free", n)
	}
	f.assertSalesClean()
}

// TestConcurrentReservations (issue 30): ten vouchers reserve the one
// laptop of a space at once: one wins, nine are told none is available.
func TestConcurrentReservations(t *testing.T) {
	f := newFixture(t)
	f.device("space", "laptop", 9000)
	codes := make([]string, 10)
	for i := range codes {
		codes[i] = f.voucherWith(1, 0, "laptop")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for _, code := range codes {
		wg.Go(func() {
			r := f.http.Do("POST", "/api/v1/reservations", f.tokens["prescriber"], map[string]any{"voucher_code": code, "site_id": f.orgs["space"].ID, "category": "laptop"})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	var active int64
	f.db.Table("reservations").Where("status = 'active'").Count(&active)
	if statuses[201] != 1 || statuses[409] != 9 || active != 1 {
		t.Fatalf("ten reservations of one laptop: %v, %d active", statuses, active)
	}
}
