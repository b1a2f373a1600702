package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

func reportFixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "inventory", "erasurereport", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestErasureReportsAtTheBench (issue 28): at the station, without the
// mouse, a laptop is diagnosed (A, LIBRE), its nwipe log chosen in the
// report field is sent as it is chosen and records the erasure, then PRET;
// a file that is no report says what was expected and changes nothing;
// the donation's page takes several reports at once and lists what matched
// no device.
func TestErasureReportsAtTheBench(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	wh, don := warehouseDonation(t, svc, n)
	register := func(cat inventory.Category, serial string) inventory.Device {
		d, err := svc.inventory.RegisterDevice(t.Context(), wh, inventory.NewDevice{DonationID: don.ID, Category: cat, Brand: "Lenovo", Model: "ThinkPad", Serial: &serial})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	state := func(d inventory.Device) inventory.State {
		var s []string
		svc.db.Table("devices").Where("id = ?", d.ID).Pluck("state", &s)
		if len(s) == 0 {
			t.Fatalf("device %s not found", d.Tag)
		}
		return inventory.State(s[0])
	}
	laptop := register(inventory.Laptop, "PF-0LAPTOP")
	if _, err := svc.inventory.SetPriceGrid(t.Context(), partners.Caller{Role: partners.RoleAdmin},
		map[string]map[string]int64{"smartphone": {"A": 4500, "B": 3500}, "laptop": {"A": 9000}}); err != nil {
		t.Fatal(err)
	}
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login("marc@example.org", uiPassword)
	ui.Open("/poste", "#scan-form")
	ui.Scan(laptop.Tag, "#device")
	ui.Scan("A", "#lock-step")
	ui.Scan("LIBRE", "#report-form")
	// A photo chosen by mistake: refused, said, nothing changed.
	junk := filepath.Join(t.TempDir(), "photo.jpg")
	os.WriteFile(junk, []byte("\xff\xd8\xff\xe0 JFIF not a report"), 0o644)
	ui.Choose("#report-file", junk)
	if msg := ui.Text("#flash"); !strings.Contains(msg, "rapport d'effacement que Tremplin sait lire") {
		t.Fatalf("a photo as report says %q", msg)
	}
	var reports int64
	svc.db.Table("erasure_reports").Count(&reports)
	if reports != 0 || state(laptop) != inventory.Diagnosed {
		t.Fatalf("a photo as report: %d reports, %s", reports, state(laptop))
	}
	ui.Choose("#report-file", reportFixture(t, "nwipe-passed.log"))
	if msg := ui.Text("#flash"); !strings.Contains(msg, "prouvé par le rapport nwipe") {
		t.Fatalf("the report says %q", msg)
	}
	if state(laptop) != inventory.Erased || !strings.Contains(ui.Text("#erasure-reports"), "WD-WCAYUJ1234567890XYZ") {
		t.Fatalf("after the report: %s; %q", state(laptop), ui.Text("#erasure-reports"))
	}
	if ui.Focused() != "code" {
		t.Fatalf("after the report the focus is on %q", ui.Focused())
	}
	ui.Shot("warehouse-erasure-report")
	checkPage(t, ui, "station with a report", "/poste?code="+laptop.Tag)
	ui.Open("/poste?code="+laptop.Tag, "#device")
	ui.Scan("PRET", "#flash")
	if state(laptop) != inventory.Ready {
		t.Fatalf("PRET after the report: %s (%q)", state(laptop), ui.Text("#flash"))
	}

	// Several reports for the donation: the CSV's line for PF-2231-XK
	// records, the rest is listed.
	desk := register(inventory.Desktop, "PF-2231-XK")
	clear := inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "not_applicable"}
	grade := "B"
	if _, err := svc.inventory.Apply(t.Context(), wh, desk.ID, inventory.Transition{Action: "diagnose", Grade: &grade, Locks: &clear}); err != nil {
		t.Fatal(err)
	}
	ui.Open("/dons/"+strconv.FormatInt(don.ID, 10), "#reports-form")
	ui.Do(chromedp.SetUploadFiles("#report-files", []string{reportFixture(t, "report.csv"), reportFixture(t, "nwipe-failed.log")}))
	ui.Follow("#upload-reports")
	ui.Do(chromedp.WaitVisible("#reports-skipped"))
	skipped := ui.Text("#reports-skipped")
	if state(desk) != inventory.Erased || !strings.Contains(skipped, "1 effacement enregistré") || !strings.Contains(skipped, "356938035643809") ||
		!strings.Contains(skipped, "Z3T4ABCD") || !strings.Contains(skipped, "aucun appareil de ce don") {
		t.Fatalf("the donation's reports: %s; %q", state(desk), skipped)
	}
	ui.Shot("warehouse-donation-reports")
	checkPage(t, ui, "donation reports", "/dons/"+strconv.FormatInt(don.ID, 10))
}

// TestCertificateAnyoneCanCheck (issue 28): the donation's certificate,
// downloaded from its page, carries a QR code of a public page that opens
// without logging in and shows its SHA-256; the public lookups are rate
// limited per address (429 with Retry-After).
func TestCertificateAnyoneCanCheck(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	n := newWarehouseNetwork(t, svc)
	wh, don := warehouseDonation(t, svc, n)
	readyDevice(t, svc, wh, don.ID)
	cookie := webLogin(t, h, "marc@example.org", uiPassword)
	pdf := getPDF(t, h.URL+"/dons/"+strconv.FormatInt(don.ID, 10)+"/certificat.pdf", cookie)
	var page string
	for _, s := range testenv.DecodePDF(t, pdf) {
		if s.Type == "QR-Code" {
			page = s.Data
		}
	}
	if !strings.HasPrefix(page, h.URL+"/certificats/") {
		t.Fatalf("the QR code reads %q", page)
	}
	sum := sha256.Sum256(pdf)
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Open(strings.TrimPrefix(page, h.URL), "#certificate")
	if got := ui.Text("#certificate-sha256"); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("the public page's hash %q", got)
	}
	if !strings.Contains(ui.Text("#certificate-devices"), "Réussi") || ui.Has("#top-who") {
		t.Fatalf("the public page: %q", ui.Text("#certificate"))
	}
	ui.Shot("public-certificate")
	checkPage(t, ui, "public certificate", strings.TrimPrefix(page, h.URL))
	limited := 0
	for range 40 {
		r := h.Do("GET", "/api/v1/certificates/UNKNOWN-CODE", "", nil)
		if r.Status == 429 {
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("a 429 without Retry-After")
			}
		}
	}
	if limited == 0 {
		t.Fatal("40 lookups in a row from one address were never limited")
	}
}
