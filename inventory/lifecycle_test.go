package inventory_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// validBody is a well-formed body for each action.
var validBody = map[string]map[string]any{
	"diagnose":       {"action": "diagnose", "grade": "A", "notes": "batterie 87 %", "locks": noLocks},
	"erase":          {"action": "erase", "method": "Blancco Mobile", "result": "passed"},
	"send_to_repair": {"action": "send_to_repair", "notes": "écran"},
	"mark_ready":     {"action": "mark_ready", "price_cents": 3000},
	"recycle":        {"action": "recycle", "reason": "carte mère HS", "recycler": "Ecosystem"},
	"mark_lost":      {"action": "mark_lost", "reason": "introuvable à l'inventaire"},
}

// allowedFrom is API.md's table, written out independently of the code.
var allowedFrom = map[string][]string{
	"diagnose":       {"received", "in_repair", "returned"},
	"erase":          {"diagnosed"},
	"send_to_repair": {"diagnosed", "erased"},
	"mark_ready":     {"erased"}, // and diagnosed for category other, tested apart
	"recycle":        {"received", "diagnosed", "erased", "in_repair", "ready", "in_stock", "returned"},
	"mark_lost":      {"received", "diagnosed", "erased", "in_repair", "ready", "in_transit", "in_stock", "returned"},
}

var allStates = []string{"received", "diagnosed", "erased", "in_repair", "ready", "in_transit", "in_stock", "sold", "returned", "recycled", "lost"}

var resultState = map[string]string{"diagnose": "diagnosed", "erase": "erased", "send_to_repair": "in_repair",
	"mark_ready": "ready", "recycle": "recycled", "mark_lost": "lost"}

// TestEveryTransition tries every action from every state: allowed ones reach
// their state and append an event, the others are 409 and change nothing.
func TestEveryTransition(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	for action, body := range validBody {
		for _, from := range allStates {
			t.Run(action+" from "+from, func(t *testing.T) {
				d := f.device(don, map[string]any{"category": "laptop"})
				// Put the device in the state under test, graded so mark_ready can price it.
				if err := f.DB.Exec(`UPDATE devices SET state = ?, grade = 'B' WHERE id = ?`, from, id(d)).Error; err != nil {
					t.Fatal(err)
				}
				user := "warehouse"
				if action == "mark_lost" {
					user = "admin"
				}
				r := f.act(user, id(d), body)
				allowed := false
				for _, s := range allowedFrom[action] {
					allowed = allowed || s == from
				}
				if !allowed {
					p := r.ExpectProblem(t, 409)
					if !strings.Contains(p["detail"].(string), from) {
						t.Errorf("409 detail %q does not name the state", p["detail"])
					}
					var st string
					f.DB.Raw(`SELECT state FROM devices WHERE id = ?`, id(d)).Scan(&st)
					if st != from {
						t.Fatalf("refused %s moved the device to %s", action, st)
					}
					return
				}
				got := r.Expect(t, 200).Map(t)
				if got["state"] != resultState[action] {
					t.Fatalf("%s from %s gave %s", action, from, got["state"])
				}
				var ev struct {
					Items []map[string]any
				}
				f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/events", id(d)), f.Tokens["admin"], nil).Expect(t, 200).Decode(t, &ev)
				last := ev.Items[len(ev.Items)-1]
				if last["action"] != action || last["from"] != from || last["to"] != resultState[action] || last["user"] != "User "+user {
					t.Fatalf("last event %v", last)
				}
			})
		}
	}
}

func TestTransitionRoles(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	for action, body := range validBody {
		d := f.device(don, nil)
		for _, user := range []string{"space", "prescriber"} {
			f.act(user, id(d), body).ExpectProblem(t, 403)
		}
		if action == "mark_lost" {
			f.act("warehouse", id(d), body).ExpectProblem(t, 403)
		} else {
			// Another warehouse does not see the device.
			f.act("warehouse2", id(d), body).ExpectProblem(t, 404)
		}
	}
	d := f.device(don, nil)
	f.act("warehouse", id(d), map[string]any{"action": "teleport"}).ExpectProblem(t, 422)
	f.act("warehouse", 999999, validBody["diagnose"]).ExpectProblem(t, 404)
	f.act("warehouse", id(d), map[string]any{"action": "diagnose"}).ExpectProblem(t, 422)
	f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "E", "locks": noLocks}).ExpectProblem(t, 422)
	f.act("warehouse", id(d), `{"action": "diagnose", "grade": 3}`).ExpectProblem(t, 400)
	f.act("warehouse", id(d), map[string]any{"action": "recycle"}).ExpectProblem(t, 422)
	f.act("admin", id(d), map[string]any{"action": "mark_lost", "reason": " "}).ExpectProblem(t, 422)
}

func TestErasureAndReadiness(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	d := f.device(don, map[string]any{"imei": imei(7)})
	f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "c", "locks": noLocks}).Expect(t, 200)
	// Not erased: a smartphone cannot be ready.
	p := f.act("warehouse", id(d), validBody["mark_ready"]).ExpectProblem(t, 409)
	if !strings.Contains(p["type"].(string), "erasure-required") {
		t.Errorf("type %v", p["type"])
	}
	f.act("warehouse", id(d), map[string]any{"action": "erase", "method": "Blancco", "result": "maybe"}).ExpectProblem(t, 422)
	f.act("warehouse", id(d), map[string]any{"action": "erase", "result": "passed"}).ExpectProblem(t, 422)
	failed := f.act("warehouse", id(d), map[string]any{"action": "erase", "method": "Réinitialisation usine", "result": "failed"}).Expect(t, 200).Map(t)
	if failed["state"] != "diagnosed" || failed["erased_at"] != nil {
		t.Fatalf("failed erasure: %v", failed)
	}
	erased := f.act("warehouse", id(d), map[string]any{"action": "erase", "method": "Blancco Mobile", "result": "passed"}).Expect(t, 200).Map(t)
	if erased["state"] != "erased" || erased["erased_at"] == nil || erased["erasure_method"] != "Blancco Mobile" {
		t.Fatalf("erasure: %v", erased)
	}
	// No price and no grid entry: refused; then the grid prices it.
	f.act("warehouse", id(d), map[string]any{"action": "mark_ready"}).ExpectProblem(t, 422)
	f.HTTP.Do("PUT", "/api/v1/price-grid", f.Tokens["admin"], map[string]any{"smartphone": map[string]int{"A": 4500, "B": 3500, "C": 2500, "D": 1500}}).Expect(t, 200)
	ready := f.act("warehouse", id(d), map[string]any{"action": "mark_ready"}).Expect(t, 200).Map(t)
	if ready["state"] != "ready" || ready["price_cents"].(float64) != 2500 || ready["grade"] != "C" {
		t.Fatalf("ready: %v", ready)
	}
	var ev struct{ Items []map[string]any }
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/events", id(d)), f.Tokens["warehouse"], nil).Expect(t, 200).Decode(t, &ev)
	var actions []string
	for _, e := range ev.Items {
		actions = append(actions, fmt.Sprint(e["action"], ":", e["from"], ">", e["to"]))
	}
	want := "register:>received diagnose:received>diagnosed erase:diagnosed>diagnosed erase:diagnosed>erased mark_ready:erased>ready"
	if strings.Join(actions, " ") != want {
		t.Fatalf("history %v\nwant %s", actions, want)
	}
	if ev.Items[2]["data"].(map[string]any)["result"] != "failed" {
		t.Fatalf("failed erasure not recorded: %v", ev.Items[2])
	}

	// Category other needs no erasure.
	o := f.device(don, map[string]any{"category": "other", "brand": "Logitech", "model": "Souris M185"})
	f.act("warehouse", id(o), map[string]any{"action": "diagnose", "grade": "A", "locks": noLocks}).Expect(t, 200)
	f.act("warehouse", id(o), map[string]any{"action": "mark_ready", "price_cents": 200}).Expect(t, 200)

	// Prices are bounded.
	p2 := f.device(don, map[string]any{"category": "other"})
	f.act("warehouse", id(p2), map[string]any{"action": "diagnose", "grade": "A", "locks": noLocks}).Expect(t, 200)
	f.act("warehouse", id(p2), map[string]any{"action": "mark_ready", "price_cents": -1}).ExpectProblem(t, 422)
	f.act("warehouse", id(p2), map[string]any{"action": "mark_ready", "price_cents": 100000000}).ExpectProblem(t, 422)

	// The history is append-only.
	if err := f.DB.Exec(`UPDATE device_events SET action = 'x'`).Error; err == nil {
		t.Fatal("device_events accepted an UPDATE")
	}
	if err := f.DB.Exec(`DELETE FROM device_events`).Error; err == nil {
		t.Fatal("device_events accepted a DELETE")
	}
}

func TestPriceGrid(t *testing.T) {
	f := newFixture(t)
	grid := map[string]any{"smartphone": map[string]int{"A": 4500, "B": 3500}, "laptop": map[string]int{"A": 9000}}
	f.HTTP.Do("PUT", "/api/v1/price-grid", f.Tokens["warehouse"], grid).ExpectProblem(t, 403)
	got := f.HTTP.Do("PUT", "/api/v1/price-grid", f.Tokens["admin"], grid).Expect(t, 200).Map(t)
	if got["laptop"].(map[string]any)["A"].(float64) != 9000 {
		t.Fatalf("grid %v", got)
	}
	for _, bad := range []any{
		map[string]any{"toaster": map[string]int{"A": 1}},
		map[string]any{"laptop": map[string]int{"Z": 1}},
		map[string]any{"laptop": map[string]int{"A": -5}},
	} {
		f.HTTP.Do("PUT", "/api/v1/price-grid", f.Tokens["admin"], bad).ExpectProblem(t, 422)
	}
	f.HTTP.Do("PUT", "/api/v1/price-grid", f.Tokens["admin"], `{"laptop": {"A": 12.5}}`).ExpectProblem(t, 400)
	again := f.HTTP.Do("GET", "/api/v1/price-grid", f.Tokens["space"], nil).Expect(t, 200).Map(t)
	if again["smartphone"].(map[string]any)["B"].(float64) != 3500 {
		t.Fatalf("refused updates changed the grid: %v", again)
	}
	f.HTTP.Do("GET", "/api/v1/price-grid", f.Tokens["prescriber"], nil).ExpectProblem(t, 403)
}

// TestConcurrentTransitions: 20 goroutines diagnosing the same received
// device: exactly one succeeds, the others get 409.
func TestConcurrentTransitions(t *testing.T) {
	f := newFixture(t)
	d := f.device(f.donation(), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "A", "locks": noLocks})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[409] != 19 {
		t.Fatalf("statuses %v, want one 200 and nineteen 409", statuses)
	}
	var n int64
	f.DB.Table("device_events").Where("device_id = ? AND action = 'diagnose'", id(d)).Count(&n)
	if n != 1 {
		t.Fatalf("%d diagnose events", n)
	}
}
