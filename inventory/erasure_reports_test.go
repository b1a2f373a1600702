package inventory_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"os"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/internal/testenv"
)

// report sends a file as an erasure report of a device.
func (f *fixture) report(user string, device int64, name string, content []byte) *testenv.Response {
	f.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", name)
	if err != nil {
		f.t.Fatal(err)
	}
	part.Write(content)
	w.Close()
	return f.HTTP.Do("POST", fmt.Sprintf("/api/v1/devices/%d/erasure-reports", device), f.Tokens[user], body.Bytes(), "Content-Type", w.FormDataContentType())
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("erasurereport/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestErasureReports: an nwipe log that passed erases the device, one that
// failed keeps it diagnosed with the failure recorded, a CSV line naming
// the device records its erasure; each file is kept byte for byte with its
// SHA-256 and listed; a garbage file, a CSV about another device, a
// device not diagnosed, a body that is no form change nothing; another
// site's device is not found.
func TestErasureReports(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	diagnosed := func(body map[string]any) map[string]any {
		d := f.device(don, body)
		f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "B", "locks": noLocks}).Expect(t, 200)
		return d
	}
	count := func() int64 {
		var n int64
		f.DB.Table("erasure_reports").Count(&n)
		return n
	}
	state := func(d map[string]any) string {
		var st string
		f.DB.Raw(`SELECT state FROM devices WHERE id = ?`, id(d)).Scan(&st)
		return st
	}

	laptop := diagnosed(map[string]any{"category": "laptop", "serial": "PF-2231-XK"})
	passed := testdata(t, "nwipe-passed.log")
	r := f.report("warehouse", id(laptop), "nwipe.log", passed).Expect(t, 201).Map(t)
	sum := sha256.Sum256(passed)
	if r["result"] != "passed" || r["tool"] != "nwipe" || r["sha256"] != hex.EncodeToString(sum[:]) || !strings.Contains(fmt.Sprint(r["method"]), "DoD Short") {
		t.Fatalf("the report recorded: %v", r)
	}
	if disks, _ := r["disks"].([]any); len(disks) != 1 || disks[0].(map[string]any)["serial"] != "WD-WCAYUJ1234567890XYZ" {
		t.Fatalf("disks: %v", r["disks"])
	}
	dev := r["device"].(map[string]any)
	if dev["state"] != "erased" || !strings.Contains(fmt.Sprint(dev["erasure_method"]), "DoD Short") || state(laptop) != "erased" {
		t.Fatalf("the device after a passed report: %v", dev)
	}
	list := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/erasure-reports", id(laptop)), f.Tokens["warehouse"], nil).Expect(t, 200)
	var reports []map[string]any
	list.Decode(t, &reports)
	if len(reports) != 1 || reports[0]["sha256"] != r["sha256"] {
		t.Fatalf("listed: %v", reports)
	}
	file := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/erasure-reports/%v/file", id(laptop), r["id"]), f.Tokens["warehouse"], nil).Expect(t, 200)
	if !bytes.Equal(file.Body, passed) {
		t.Fatal("the report's file is not the one uploaded, byte for byte")
	}
	var data string
	f.DB.Raw(`SELECT data FROM device_events WHERE device_id = ? AND action = 'erase'`, id(laptop)).Scan(&data)
	if !strings.Contains(data, hex.EncodeToString(sum[:])) {
		t.Fatalf("the erasure's event does not name the report: %s", data)
	}

	// A failed wipe: recorded, the device stays diagnosed.
	desktop := diagnosed(map[string]any{"category": "desktop", "serial": "DT-9"})
	r = f.report("warehouse", id(desktop), "failed.log", testdata(t, "nwipe-failed.log")).Expect(t, 201).Map(t)
	if r["result"] != "failed" || state(desktop) != "diagnosed" {
		t.Fatalf("a failed report: %v, state %s", r["result"], state(desktop))
	}
	var failed int64
	f.DB.Raw(`SELECT COUNT(*) FROM device_events WHERE device_id = ? AND action = 'erase' AND data LIKE '%failed%'`, id(desktop)).Scan(&failed)
	if failed != 1 {
		t.Fatal("the failed erasure is not in the history")
	}

	// A CSV line names the device by its serial.
	phone := diagnosed(map[string]any{"imei": "356938035643809"})
	csv := testdata(t, "report.csv")
	r = f.report("warehouse", id(phone), "blancco.csv", csv).Expect(t, 201).Map(t)
	if r["result"] != "failed" || r["tool"] != "Blancco Mobile" || state(phone) != "diagnosed" {
		t.Fatalf("the CSV's line for the phone: %v", r)
	}

	// Refusals change nothing.
	before := count()
	other := diagnosed(map[string]any{"serial": "NOT-IN-ANY-REPORT"})
	p := f.report("warehouse", id(other), "blancco.csv", csv).ExpectProblem(t, 422)
	if !strings.Contains(fmt.Sprint(p["detail"]), "PF-2231-XK") {
		t.Fatalf("a CSV about other devices: %v", p)
	}
	p = f.report("warehouse", id(other), "photo.jpg", []byte("\xff\xd8\xff\xe0 not a report")).ExpectProblem(t, 422)
	if !strings.Contains(fmt.Sprint(p["detail"]), "serial,method,result,finished_at,tool") {
		t.Fatalf("garbage: %v", p)
	}
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/devices/%d/erasure-reports", id(other)), f.Tokens["warehouse"], `{"file":"x"}`).ExpectProblem(t, 422)
	received := f.device(don, map[string]any{"category": "laptop"})
	f.report("warehouse", id(received), "nwipe.log", passed).ExpectProblem(t, 409)
	f.report("warehouse", id(laptop), "nwipe.log", passed).ExpectProblem(t, 409) // erased already
	if count() != before || state(other) != "diagnosed" || state(received) != "received" {
		t.Fatalf("a refusal changed something: %d reports (was %d)", count(), before)
	}
	// Another warehouse's device, and a space, see nothing of it.
	f.report("warehouse2", id(other), "nwipe.log", passed).ExpectProblem(t, 404)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/erasure-reports", id(laptop)), f.Tokens["warehouse2"], nil).ExpectProblem(t, 404)
	f.report("space", id(other), "nwipe.log", passed).ExpectProblem(t, 403)
}
