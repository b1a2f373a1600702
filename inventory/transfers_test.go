package inventory_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/internal/testenv"
)

func TestTransferWarehouseToSpace(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	a, b, c := f.ready(don, nil), f.ready(don, map[string]any{"category": "laptop"}), f.ready(don, map[string]any{"category": "tablet"})
	notReady := f.device(don, nil)
	wh, sp := f.Orgs["warehouse"].ID, f.Orgs["space"].ID
	body := func(ids ...int64) map[string]any {
		return map[string]any{"from_site_id": wh, "to_site_id": sp, "device_ids": ids}
	}
	// Refusals.
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(id(a), id(notReady))).ExpectProblem(t, 409)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(id(a), id(a))).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body()).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], map[string]any{"from_site_id": wh, "to_site_id": wh, "device_ids": []int64{id(a)}}).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], map[string]any{"from_site_id": wh, "to_site_id": f.Orgs["donor"].ID, "device_ids": []int64{id(a)}}).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse2"], body(id(a))).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["prescriber"], body(id(a))).ExpectProblem(t, 403)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], map[string]any{"from_site_id": wh, "to_site_id": sp,
		"recharges": []map[string]any{{"product_id": 1, "quantity": 5}}}).ExpectProblem(t, 422)

	tr := f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(id(a), id(b), id(c))).Expect(t, 201).Map(t)
	if tr["status"] != "draft" || len(tr["devices"].([]any)) != 3 {
		t.Fatalf("transfer %v", tr)
	}
	tid := id(tr)
	// A device on a draft cannot go on another.
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(id(a))).ExpectProblem(t, 409)
	// Only the receiving site receives; nothing is received before shipping.
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/receive", tid), f.Tokens["space"], map[string]any{"codes": []string{a["tag"].(string)}}).ExpectProblem(t, 409)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", tid), f.Tokens["space"], nil).ExpectProblem(t, 403)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", tid), f.Tokens["space2"], nil).ExpectProblem(t, 404)

	shipped := f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", tid), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if shipped["status"] != "shipped" || shipped["shipped_at"] == nil {
		t.Fatalf("shipped %v", shipped)
	}
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", tid), f.Tokens["warehouse"], nil).ExpectProblem(t, 409)
	dev := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(a)), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if dev["state"] != "in_transit" {
		t.Fatalf("device after shipping: %v", dev["state"])
	}
	// The destination sees what is on its way; another space does not.
	f.HTTP.Do("GET", "/api/v1/scan/"+a["tag"].(string), f.Tokens["space"], nil).Expect(t, 200)
	f.HTTP.Do("GET", "/api/v1/scan/"+a["tag"].(string), f.Tokens["space2"], nil).ExpectProblem(t, 404)

	// The manifest lists every device with a barcode that scans.
	m := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/transfers/%d/manifest.pdf", tid), f.Tokens["space"], nil).Expect(t, 200)
	got := map[string]bool{}
	for _, s := range testenv.DecodePDF(t, m.Body) {
		got[s.Data] = true
	}
	for _, d := range []map[string]any{a, b, c} {
		if !got[d["tag"].(string)] {
			t.Errorf("manifest barcode of %s not decoded (got %v)", d["tag"], got)
		}
	}
	if !got[fmt.Sprintf("T-%06d", tid)] {
		t.Errorf("transfer number barcode not decoded: %v", got)
	}
	text := testenv.PDFText(t, m.Body)
	for _, want := range []string{"Bon de livraison", "Entrepôt de Montreuil", "Espace Belleville"} {
		if !strings.Contains(text, want) {
			t.Errorf("manifest lacks %q", want)
		}
	}

	// Receive: two scanned (one typed in lowercase), one missing, one stray code.
	rec := f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/receive", tid), f.Tokens["space"],
		map[string]any{"codes": []string{a["tag"].(string), strings.ToLower(b["tag"].(string)), "XYZ-99999", a["tag"].(string)}}).Expect(t, 200).Map(t)
	if rec["status"] != "received" || len(rec["received"].([]any)) != 2 || len(rec["missing"].([]any)) != 1 ||
		rec["missing"].([]any)[0].(map[string]any)["tag"] != c["tag"] || fmt.Sprint(rec["unexpected"]) != "[XYZ-99999]" {
		t.Fatalf("receive %v", rec)
	}
	dev = f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(a)), f.Tokens["space"], nil).Expect(t, 200).Map(t)
	if dev["state"] != "in_stock" || int64(dev["site_id"].(float64)) != sp {
		t.Fatalf("received device %v", dev)
	}
	// The second box arrives: the missing device is received too; a retry changes nothing.
	for range 2 {
		rec = f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/receive", tid), f.Tokens["space"], map[string]any{"codes": []string{c["tag"].(string)}}).Expect(t, 200).Map(t)
		if len(rec["missing"].([]any)) != 0 {
			t.Fatalf("still missing %v", rec["missing"])
		}
	}
	var n int64
	f.DB.Table("device_events").Where("device_id = ? AND action = 'receive'", id(c)).Count(&n)
	if n != 1 {
		t.Fatalf("%d receive events for one device", n)
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/transfers/%d", tid), f.Tokens["space2"], nil).ExpectProblem(t, 404)
	var l struct{ Items []any }
	f.HTTP.Do("GET", "/api/v1/transfers?status=received", f.Tokens["space"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("list %v", l.Items)
	}
	f.HTTP.Do("GET", "/api/v1/transfers?status=lost", f.Tokens["space"], nil).ExpectProblem(t, 422)
}

func TestTransferBackToWarehouseAndCancel(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	d := f.ready(don, nil)
	wh, sp := f.Orgs["warehouse"].ID, f.Orgs["space"].ID
	// A draft is cancelled; its device can travel again.
	tr := f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], map[string]any{"from_site_id": wh, "to_site_id": sp, "device_ids": []int64{id(d)}}).Expect(t, 201).Map(t)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/cancel", id(tr)), f.Tokens["warehouse"], nil).Expect(t, 200)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/cancel", id(tr)), f.Tokens["warehouse"], nil).ExpectProblem(t, 409)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", id(tr)), f.Tokens["warehouse"], nil).ExpectProblem(t, 409)

	tr = f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], map[string]any{"from_site_id": wh, "to_site_id": sp, "device_ids": []int64{id(d)}}).Expect(t, 201).Map(t)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", id(tr)), f.Tokens["warehouse"], nil).Expect(t, 200)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/receive", id(tr)), f.Tokens["space"], map[string]any{"codes": []string{d["tag"].(string)}}).Expect(t, 200)

	// A device sold then returned at the space goes back to the warehouse, and
	// arrives there still returned, ready for a new diagnosis.
	if err := f.DB.Exec(`UPDATE devices SET state = 'returned' WHERE id = ?`, id(d)).Error; err != nil {
		t.Fatal(err)
	}
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["space"], map[string]any{"from_site_id": sp, "to_site_id": f.Orgs["space2"].ID, "device_ids": []int64{id(d)}}).ExpectProblem(t, 409)
	back := f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["space"], map[string]any{"from_site_id": sp, "to_site_id": wh, "device_ids": []int64{id(d)}}).Expect(t, 201).Map(t)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", id(back)), f.Tokens["space"], nil).Expect(t, 200)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/receive", id(back)), f.Tokens["warehouse"], map[string]any{"codes": []string{d["tag"].(string)}}).Expect(t, 200)
	got := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d", id(d)), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if got["state"] != "returned" || int64(got["site_id"].(float64)) != wh {
		t.Fatalf("returned device at the warehouse: %v", got)
	}
	f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "C", "locks": noLocks}).Expect(t, 200)
}

// TestShippingIsAllOrNothing: a device sold after the draft was made stops the
// whole shipment, and nothing moves.
func TestShippingIsAllOrNothing(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	a, b := f.ready(don, nil), f.ready(don, nil)
	tr := f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], map[string]any{"from_site_id": f.Orgs["warehouse"].ID,
		"to_site_id": f.Orgs["space"].ID, "device_ids": []int64{id(a), id(b)}}).Expect(t, 201).Map(t)
	f.act("warehouse", id(b), map[string]any{"action": "recycle", "reason": "tombé"}).Expect(t, 200)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", id(tr)), f.Tokens["warehouse"], nil).ExpectProblem(t, 409)
	got := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/transfers/%d", id(tr)), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if got["status"] != "draft" {
		t.Fatalf("transfer %v after a failed shipment", got["status"])
	}
	var st string
	f.DB.Raw(`SELECT state FROM devices WHERE id = ?`, id(a)).Scan(&st)
	if st != "ready" {
		t.Fatalf("device %s after a failed shipment", st)
	}
}

func TestStockCheckAndLoss(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	a, b, c := f.device(don, nil), f.device(don, map[string]any{"serial": "SER-B"}), f.ready(don, nil)
	recycled := f.device(don, nil)
	f.act("warehouse", id(recycled), map[string]any{"action": "recycle", "reason": "HS"}).Expect(t, 200)
	other := f.HTTP.Do("POST", "/api/v1/devices", f.Tokens["warehouse2"], map[string]any{"donation_id": f.donationAt("warehouse2"),
		"category": "laptop", "brand": "Acer", "model": "Aspire"}).Expect(t, 201).Map(t)
	wh := f.Orgs["warehouse"].ID
	res := f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", wh), f.Tokens["warehouse"],
		map[string]any{"codes": []string{a["tag"].(string), " ser-b ", a["tag"].(string), "UNKNOWN-1", recycled["tag"].(string), "", other["tag"].(string)}}).Expect(t, 201).Map(t)
	missing := res["missing"].([]any)
	if len(missing) != 1 || missing[0].(map[string]any)["tag"] != c["tag"] {
		t.Fatalf("missing %v", missing)
	}
	if fmt.Sprint(res["unexpected"]) != "[UNKNOWN-1]" {
		t.Fatalf("unexpected %v", res["unexpected"])
	}
	el := res["elsewhere"].([]any)
	// Another warehouse's device is only said to be recorded elsewhere: this
	// warehouse may not see it.
	if len(el) != 2 || el[0].(map[string]any)["tag"] != recycled["tag"] || el[0].(map[string]any)["state"] != "recycled" ||
		fmt.Sprint(el[1]) != fmt.Sprint(map[string]any{"code": other["tag"]}) {
		t.Fatalf("elsewhere %v", el)
	}
	if res["seen"].(float64) != 2 {
		t.Fatalf("seen %v (b scanned by serial)", res["seen"])
	}
	_ = b
	again := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/sites/%d/stock-checks/%v", wh, res["id"]), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if len(again["missing"].([]any)) != 1 {
		t.Fatalf("stored check %v", again)
	}
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", wh), f.Tokens["warehouse2"], map[string]any{"codes": []string{}}).ExpectProblem(t, 404)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", wh), f.Tokens["space"], map[string]any{"codes": []string{}}).ExpectProblem(t, 404)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", f.Orgs["donor"].ID), f.Tokens["admin"], map[string]any{"codes": []string{}}).ExpectProblem(t, 404)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", wh), f.Tokens["prescriber"], map[string]any{"codes": []string{}}).ExpectProblem(t, 403)
	// The admin marks the missing device lost.
	lost := f.act("admin", id(c), map[string]any{"action": "mark_lost", "reason": "absent à l'inventaire du 23/11"}).Expect(t, 200).Map(t)
	if lost["state"] != "lost" {
		t.Fatalf("lost %v", lost)
	}
}

func TestErasureCertificate(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	a := f.device(don, map[string]any{"imei": imei(77), "brand": "Apple", "model": "iPhone 8"})
	b := f.device(don, map[string]any{"category": "laptop", "brand": "Dell", "model": "Latitude E7470", "serial": "7XK2JH2"})
	c := f.device(don, map[string]any{"category": "laptop", "brand": "HP", "model": "EliteBook 840", "serial": "CND1234"})
	waiting := f.device(don, map[string]any{"category": "tablet", "brand": "Samsung", "model": "Tab A", "serial": "TABWAIT"})
	for _, d := range []map[string]any{a, b} {
		f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "B", "locks": noLocks}).Expect(t, 200)
	}
	f.act("warehouse", id(a), map[string]any{"action": "erase", "method": "Réinitialisation + chiffrement", "result": "failed"}).Expect(t, 200)
	f.act("warehouse", id(a), map[string]any{"action": "erase", "method": "Blancco Mobile", "result": "passed"}).Expect(t, 200)
	// A long value wraps in its cell instead of being cut.
	f.act("warehouse", id(b), map[string]any{"action": "erase", "method": "NIST 800-88 Purge, Blancco Drive Eraser, rapport 2026-11-0042", "result": "passed"}).Expect(t, 200)
	f.act("warehouse", id(c), map[string]any{"action": "recycle", "reason": "disque dur détruit", "recycler": "Ecosystem"}).Expect(t, 200)

	r := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d/erasure-certificate.pdf", don), f.Tokens["warehouse"], nil).Expect(t, 200)
	text := strings.Join(strings.Fields(testenv.PDFText(t, r.Body)), " ")
	for _, want := range []string{"Certificat d'effacement", "CERT-", "Assurances Mutuelles", "Entrepôt de Montreuil",
		a["tag"].(string), "IMEI " + imei(77), "Blancco Mobile", "réussi", "échoué",
		b["tag"].(string), "7XK2JH2", "NIST 800-88 Purge,", "Blancco Drive Eraser, rapport 2026-11-0042", "User warehouse",
		c["tag"].(string), "disque dur détruit", "Ecosystem", waiting["tag"].(string), "Émis le", "Code de vérification"} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate lacks %q", want)
		}
	}
	if strings.Contains(text, "…") {
		t.Error("a value was cut")
	}
	if t.Failed() {
		t.Log(text)
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d/erasure-certificate.pdf", don), f.Tokens["warehouse2"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d/erasure-certificate.pdf", don), f.Tokens["space"], nil).ExpectProblem(t, 403)
}

// TestShelfCodesResolvedAtOnce: a stock check sends as many statements for
// 40 codes (tags, serials in lower case, unknown codes) as for 4: the codes
// are resolved together, not one lookup each.
func TestShelfCodesResolvedAtOnce(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	var tags, serials []string
	for i := range 40 {
		d := f.ready(don, map[string]any{"serial": fmt.Sprintf("SHELF-%02d", i)})
		tags = append(tags, d["tag"].(string))
		serials = append(serials, fmt.Sprintf("shelf-%02d", i))
	}
	// The caller's authentication aside: remembered for a second, it is
	// sent or not depending on the time between the checks.
	count := testenv.CountStatements(t, f.DB.DB).Except("auth_tokens")
	wh := f.Orgs["warehouse"].ID
	check := func(codes []string) (int, map[string]any) {
		var res map[string]any
		n := count.During(func() {
			res = f.HTTP.Do("POST", fmt.Sprintf("/api/v1/sites/%d/stock-checks", wh), f.Tokens["warehouse"], map[string]any{"codes": codes}).Expect(t, 201).Map(t)
		})
		return n, res
	}
	few, small := check(append(slices.Clone(tags[:2]), serials[2], "NOBODY-1"))
	many, large := check(append(append(slices.Clone(tags[:20]), serials[20:38]...), "NOBODY-1", "NOBODY-2"))
	if few != many {
		t.Fatalf("a stock check of 4 codes sent %d statements, of 40 codes %d", few, many)
	}
	if small["seen"].(float64) != 3 || large["seen"].(float64) != 38 || len(large["missing"].([]any)) != 2 || len(large["unexpected"].([]any)) != 2 {
		t.Fatalf("checks: %v / %v", small, large)
	}
	t.Logf("a stock check sends %d statements besides the caller's authentication, whatever the number of codes", many)
}
