package inventory_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestLockChecks: a smartphone, tablet, laptop or desktop is diagnosed with
// its four lock checks (422 without them, or with a result that is not
// one, changing nothing); a device found locked is never made ready (409
// device-locked, naming what the donor needs), and is once a new check
// finds it clear, from diagnosed or erased; a device not locked keeps the
// table (no second diagnosis); a feature phone needs no checks.
func TestLockChecks(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	phone := f.device(don, map[string]any{"imei": "356938035643809"})
	state := func(d map[string]any) string {
		t.Helper()
		var st string
		f.DB.Raw(`SELECT state FROM devices WHERE id = ?`, id(d)).Scan(&st)
		return st
	}
	p := f.act("warehouse", id(phone), map[string]any{"action": "diagnose", "grade": "A"}).ExpectProblem(t, 422)
	if fmt.Sprint(p["errors"]) == "" || state(phone) != "received" {
		t.Fatalf("without locks: %v, state %s", p, state(phone))
	}
	bad := map[string]string{"account": "maybe", "mdm": "clear", "firmware": "not_applicable", "blocklist": "clear"}
	p = f.act("warehouse", id(phone), map[string]any{"action": "diagnose", "grade": "A", "locks": bad}).ExpectProblem(t, 422)
	if errs, _ := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "locks.account" || state(phone) != "received" {
		t.Fatalf("a result that is none: %v", p)
	}
	locked := map[string]string{"account": "locked", "mdm": "clear", "firmware": "not_applicable", "blocklist": "clear"}
	got := f.act("warehouse", id(phone), map[string]any{"action": "diagnose", "grade": "a", "locks": locked}).Expect(t, 200).Map(t)
	if l, _ := got["locks"].(map[string]any); l["account"] != "locked" || l["blocklist"] != "clear" {
		t.Fatalf("locks recorded: %v", got["locks"])
	}
	shown := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(phone)), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if l, _ := shown["locks"].(map[string]any); l["account"] != "locked" {
		t.Fatalf("GET shows locks %v", shown["locks"])
	}
	f.act("warehouse", id(phone), map[string]any{"action": "erase", "method": "nwipe", "result": "passed"}).Expect(t, 200)
	p = f.act("warehouse", id(phone), map[string]any{"action": "mark_ready", "price_cents": 3000}).ExpectProblem(t, 409)
	if p["type"] != "/problems/device-locked" || !strings.Contains(fmt.Sprint(p["detail"]), "account") || !strings.Contains(fmt.Sprint(p["detail"]), "356938035643809") || state(phone) != "erased" {
		t.Fatalf("a locked device made ready: %v, state %s", p, state(phone))
	}
	// The donor released it: a new check, from erased, keeps the erasure.
	clear := map[string]string{"account": "clear", "mdm": "clear", "firmware": "not_applicable", "blocklist": "clear"}
	got = f.act("warehouse", id(phone), map[string]any{"action": "diagnose", "grade": "A", "locks": clear}).Expect(t, 200).Map(t)
	if got["state"] != "erased" {
		t.Fatalf("a new check took the erased device to %v", got["state"])
	}
	f.act("warehouse", id(phone), map[string]any{"action": "mark_ready", "price_cents": 3000}).Expect(t, 200)

	// Locked while diagnosed, released, then ready after erasure.
	laptop := f.device(don, map[string]any{"category": "laptop", "serial": "PF-LOCK-1"})
	bios := map[string]string{"account": "clear", "mdm": "clear", "firmware": "locked", "blocklist": "not_applicable"}
	f.act("warehouse", id(laptop), map[string]any{"action": "diagnose", "grade": "B", "locks": bios}).Expect(t, 200)
	p = f.act("warehouse", id(laptop), map[string]any{"action": "mark_ready", "price_cents": 3000}).ExpectProblem(t, 409)
	if p["type"] != "/problems/device-locked" || !strings.Contains(fmt.Sprint(p["detail"]), "PF-LOCK-1") {
		t.Fatalf("a locked laptop: %v", p)
	}
	noBios := map[string]string{"account": "clear", "mdm": "clear", "firmware": "clear", "blocklist": "not_applicable"}
	f.act("warehouse", id(laptop), map[string]any{"action": "diagnose", "grade": "B", "locks": noBios}).Expect(t, 200)
	// Not locked any more: a third diagnosis is the table's 409.
	f.act("warehouse", id(laptop), map[string]any{"action": "diagnose", "grade": "C", "locks": noBios}).ExpectProblem(t, 409)
	f.act("warehouse", id(laptop), map[string]any{"action": "erase", "method": "nwipe", "result": "passed"}).Expect(t, 200)
	f.act("warehouse", id(laptop), map[string]any{"action": "mark_ready", "price_cents": 3000}).Expect(t, 200)
	var events int64
	f.DB.Table("device_events").Where("device_id = ? AND action = 'diagnose'", id(laptop)).Count(&events)
	if events != 2 {
		t.Fatalf("%d diagnosis events, want 2 (each check kept in the history)", events)
	}

	// A feature phone has no lock to check.
	basic := f.device(don, map[string]any{"category": "feature_phone"})
	got = f.act("warehouse", id(basic), map[string]any{"action": "diagnose", "grade": "C"}).Expect(t, 200).Map(t)
	if got["locks"] != nil {
		t.Fatalf("a feature phone's locks: %v", got["locks"])
	}
}
