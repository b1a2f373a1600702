package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
)

// TestLockChecksAtTheBench (issue 28): at the station, without the mouse, a
// phone's grade card asks for its locks; V-COMPTE records the diagnosis
// with the account locked, and « Prêt » is then refused with what to do; a
// device scanned meanwhile leaves the grade unrecorded; after the donor
// releases it, the grade and LIBRE record a clear check and « Prêt » puts
// it on sale. The device's page says it is locked and offers the four
// checks.
func TestLockChecksAtTheBench(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	wh, don := warehouseDonation(t, svc, n)
	imei := "490154203237518"
	phone, err := svc.inventory.RegisterDevice(t.Context(), wh, inventory.NewDevice{DonationID: don.ID, Category: inventory.Smartphone,
		Brand: "Samsung", Model: "Galaxy A12", IMEI: &imei})
	if err != nil {
		t.Fatal(err)
	}
	other := readyDevice(t, svc, wh, don.ID)
	device := func() inventory.Device {
		t.Helper()
		var d inventory.Device
		if err := svc.db.DB.Where("id = ?", phone.ID).Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		return d
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open("/poste", "#scan-form")
	ui.Scan(phone.Tag, "#device")
	ui.Scan("A", "#lock-step")
	if got := ui.Text("#lock-step"); !strings.Contains(got, "Est-il verrouillé ?") || !strings.Contains(got, "LIBRE") {
		t.Fatalf("the lock step: %q", got)
	}
	if ui.Focused() != "code" {
		t.Fatalf("the lock step moved the focus to %q", ui.Focused())
	}
	ui.Shot("warehouse-lock-step")
	checkPage(t, ui, "lock step", "/poste?code="+phone.Tag+"&diagnostic=A")
	ui.Open("/poste?code="+phone.Tag, "#device")
	ui.Scan("A", "#lock-step")
	// Another device scanned: the grade is forgotten, nothing recorded.
	ui.Scan(other.Tag, "#device")
	if d := device(); d.State != inventory.Received || ui.Has("#lock-step") {
		t.Fatalf("a scan elsewhere recorded %s", d.State)
	}
	ui.Scan(phone.Tag, "#device")
	ui.Scan("LIBRE", "#flash")
	if msg := ui.Text("#flash"); !strings.Contains(msg, "scannez d'abord son grade") || device().State != inventory.Received {
		t.Fatalf("LIBRE without a grade: %q", msg)
	}
	ui.Scan("B", "#lock-step")
	ui.Scan("V-COMPTE", "#flash")
	d := device()
	if d.State != inventory.Diagnosed || d.Locks == nil || d.Locks.Account != inventory.LockLocked || d.Locks.Firmware != inventory.LockNotApplicable {
		t.Fatalf("after V-COMPTE: %s %+v", d.State, d.Locks)
	}
	if msg := ui.Text("#flash"); !strings.Contains(msg, "verrouillé (compte du propriétaire)") {
		t.Fatalf("the locked diagnosis says %q", msg)
	}
	if got := ui.Text("#device-locked"); !strings.Contains(got, imei) {
		t.Fatalf("the locked device's warning: %q", got)
	}
	if ui.Has("#open-mark_ready") {
		t.Fatal("a locked device is offered « Mettre en vente »")
	}
	ui.Scan("OK", "#flash") // the method of the last erasure, nwipe
	ui.Scan("PRET", "#flash")
	if msg := ui.Text("#flash"); !strings.Contains(msg, "est verrouillé (compte du propriétaire)") || !strings.Contains(msg, imei) || device().State != inventory.Erased {
		t.Fatalf("PRET on a locked device: %q, %s", msg, device().State)
	}
	ui.Shot("warehouse-locked-device")
	checkPage(t, ui, "locked device", "/appareils/"+phone.Tag)
	// Its page offers the checks, the last ones chosen.
	ui.Open("/appareils/"+phone.Tag, "#device-locked")
	ui.Do(chromedp.Click("#open-diagnose"), chromedp.WaitVisible("#lock-account"))
	if v := ui.EvalString(`document.querySelector("input[name=lock_account]:checked").value`); v != "locked" {
		t.Fatalf("the panel's account check: %q", v)
	}
	// The donor released it: B, LIBRE, then PRET.
	ui.Open("/poste?code="+phone.Tag, "#device")
	ui.Scan("B", "#lock-step")
	ui.Scan("LIBRE", "#flash")
	ui.Scan("PRET", "#flash")
	if d := device(); d.State != inventory.Ready || d.Locks.Account != inventory.LockClear || d.Locks.Blocklist != inventory.LockClear {
		t.Fatalf("after the release: %s %+v", d.State, d.Locks)
	}
	var events int64
	svc.db.Table("device_events").Where("device_id = ? AND action = ?", phone.ID, "diagnose").Count(&events)
	if events != 2 {
		t.Fatalf("%d diagnosis events", events)
	}
	// The device page's form records the four checks.
	laptop, err := svc.inventory.RegisterDevice(t.Context(), wh, inventory.NewDevice{DonationID: don.ID, Category: inventory.Laptop, Brand: "Dell", Model: "Latitude"})
	if err != nil {
		t.Fatal(err)
	}
	ui.Open("/appareils/"+laptop.Tag, "#actions")
	ui.Do(chromedp.Click("#open-diagnose"), chromedp.WaitVisible("#lock-mdm"))
	for _, sel := range []string{`input[name=grade][value=C]`, `input[name=lock_account][value=clear]`, `input[name=lock_mdm][value=locked]`, `input[name=lock_firmware][value=clear]`} {
		ui.Do(chromedp.Click(sel))
	}
	if v := ui.EvalString(`document.querySelector("input[name=lock_blocklist]:checked").value`); v != "not_applicable" {
		t.Fatalf("a laptop without IMEI: blocklist %q", v)
	}
	ui.Do(chromedp.Click("#submit-diagnose"), chromedp.WaitVisible("#flash"))
	var l inventory.Device
	svc.db.DB.Where("id = ?", laptop.ID).Take(&l)
	if l.State != inventory.Diagnosed || l.Locks == nil || fmt.Sprint(*l.Locks) != "{clear locked clear not_applicable}" {
		t.Fatalf("the form's diagnosis: %s %+v", l.State, l.Locks)
	}
}
