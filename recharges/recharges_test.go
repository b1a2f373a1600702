package recharges_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// product creates a 10 € recharge sold 2 €.
func (f *fixture) product(threshold int) int64 {
	f.t.Helper()
	r := f.HTTP.Do("POST", "/api/v1/recharge-products", f.Tokens["admin"], map[string]any{"operator_id": f.Orgs["operator"].ID,
		"name": "Recharge 10 € — 20 Go", "face_value_cents": 1000, "price_cents": 200, "validity_days": 30, "low_stock_threshold": threshold})
	return id(r.Expect(f.t, 201).Map(f.t))
}

// cards is an operator file of n cards from serial start, each with a PIN.
func cards(start, n int, expires string) string {
	var b strings.Builder
	b.WriteString("serial,pin,expires_on\n")
	for i := start; i < start+n; i++ {
		fmt.Fprintf(&b, "SER%08d,PIN%08dX,%s\n", i, i, expires)
	}
	return b.String()
}

func (f *fixture) importCards(user string, product int64, site string, csv string) *testenv.Response {
	f.t.Helper()
	return f.HTTP.Do("POST", fmt.Sprintf("/api/v1/recharge-batches?product_id=%d&site_id=%d", product, f.Orgs[site].ID), f.Tokens[user], csv, "Content-Type", "text/csv")
}

func future(days int) string { return time.Now().AddDate(0, 0, days).Format(time.DateOnly) }

func (f *fixture) units(status string) int64 {
	var n int64
	f.DB.Table("recharge_units").Where("status = ?", status).Count(&n)
	return n
}

func TestRechargeProducts(t *testing.T) {
	f := newFixture(t)
	p := f.product(5)
	got := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-products/%d", p), f.Tokens["space"], nil).Expect(t, 200).Map(t)
	if got["face_value_cents"].(float64) != 1000 || got["price_cents"].(float64) != 200 || got["low_stock_threshold"].(float64) != 5 {
		t.Fatalf("product %v", got)
	}
	body := map[string]any{"operator_id": f.Orgs["operator"].ID, "name": "X", "face_value_cents": 500, "price_cents": 100}
	f.HTTP.Do("POST", "/api/v1/recharge-products", f.Tokens["warehouse"], body).ExpectProblem(t, 403)
	for field, bad := range map[string]any{"operator_id": f.Orgs["donor"].ID, "face_value_cents": 0, "price_cents": -1, "name": " ", "validity_days": 0} {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		b[field] = bad
		p := f.HTTP.Do("POST", "/api/v1/recharge-products", f.Tokens["admin"], b).ExpectProblem(t, 422)
		if !strings.Contains(string(mustJSON(p["errors"])), field) {
			t.Errorf("%s: errors %v", field, p["errors"])
		}
	}
	upd := f.HTTP.Do("PATCH", fmt.Sprintf("/api/v1/recharge-products/%d", p), f.Tokens["admin"], map[string]any{"price_cents": 150}).Expect(t, 200).Map(t)
	if upd["price_cents"].(float64) != 150 || upd["face_value_cents"].(float64) != 1000 {
		t.Fatalf("patched %v", upd)
	}
	f.HTTP.Do("PATCH", fmt.Sprintf("/api/v1/recharge-products/%d", p), f.Tokens["space"], map[string]any{"price_cents": 1}).ExpectProblem(t, 403)
	var l struct{ Items []any }
	f.HTTP.Do("GET", "/api/v1/recharge-products", f.Tokens["prescriber"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("catalogue %v", l.Items)
	}
}

func TestImportRejectsEveryBadLine(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 3, future(90))).Expect(t, 201)
	csv := strings.Join([]string{
		"serial,pin,expires_on",
		"NEW00001,1111," + future(90),            // 2: fine
		",2222," + future(90),                    // 3: missing serial
		"NEW00003,3333,31/12/2027",               // 4: bad date
		"NEW00004,4444,2020-01-01",               // 5: past date
		"NEW00005,5555,",                         // 6: no date
		"NEW00001,6666," + future(90),            // 7: repeated in the file (line 2)
		"SER00000002,7777," + future(90),         // 8: already known
		"NEW00008,8888," + future(90) + ",extra", // 9: too many cells
	}, "\r\n") + "\r\n"
	pr := f.importCards("warehouse", p, "warehouse", csv).ExpectProblem(t, 422)
	lines := map[int]string{}
	for _, e := range pr["errors"].([]any) {
		m := e.(map[string]any)
		if l, ok := m["line"].(float64); ok {
			lines[int(l)] = m["message"].(string)
		}
	}
	for l, want := range map[int]string{3: "serial is missing", 4: "not a date", 5: "is past", 6: "expires_on is missing", 7: "also on line 2", 8: "already known", 9: "cells"} {
		if !strings.Contains(lines[l], want) {
			t.Errorf("line %d: %q, want %q", l, lines[l], want)
		}
	}
	if _, bad := lines[2]; bad {
		t.Errorf("good line 2 reported: %s", lines[2])
	}
	if strings.Contains(string(pr["detail"].(string))+string(mustJSON(pr["errors"])), "7777") {
		t.Error("a PIN appears in the error")
	}
	if n := f.units("available"); n != 3 {
		t.Fatalf("%d units after a refused file, want the 3 imported before", n)
	}
	for name, bad := range map[string]string{
		"bare quote":     "serial,pin,expires_on\nA\"1,1," + future(9) + "\n",
		"empty":          "",
		"header only":    "serial,pin,expires_on\n",
		"missing column": "serial,expires_on\nA1," + future(9) + "\n",
		"unknown column": "serial,pin,expires_on,colour\nA1,1," + future(9) + ",red\n",
	} {
		if r := f.importCards("warehouse", p, "warehouse", bad); r.Status != 422 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	f.importCards("space", p, "space", cards(100, 1, future(9))).ExpectProblem(t, 403)
	f.importCards("warehouse", p, "warehouse2", cards(100, 1, future(9))).ExpectProblem(t, 422)
	f.importCards("warehouse", 999, "warehouse", cards(100, 1, future(9))).ExpectProblem(t, 422)
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/recharge-batches?product_id=%d", p), f.Tokens["warehouse"], cards(100, 1, future(9)), "Content-Type", "text/csv").ExpectProblem(t, 422)
	// Scratch cards have no PIN: that is fine.
	f.importCards("warehouse", p, "warehouse", "\ufeffserial;pin;expires_on\nSCR1;;"+future(30)+"\n").Expect(t, 201)
}

func TestSameFileTwiceIsRefused(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	file := cards(1, 50, future(60))
	first := f.importCards("warehouse", p, "warehouse", file).Expect(t, 201).Map(t)
	if first["imported"].(float64) != 50 || len(first["sha256"].(string)) != 64 {
		t.Fatalf("import %v", first)
	}
	batch := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-batches/%v", first["id"]), f.Tokens["warehouse"], nil).Expect(t, 200).Map(t)
	if batch["sha256"] != first["sha256"] || batch["units"].(float64) != 50 || batch["imported_by"] == nil {
		t.Fatalf("batch %v", batch)
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-batches/%v", first["id"]), f.Tokens["warehouse2"], nil).ExpectProblem(t, 404)
	pr := f.importCards("warehouse", p, "warehouse", file).ExpectProblem(t, 409)
	if !strings.Contains(pr["detail"].(string), fmt.Sprintf("already imported, as batch %v", first["id"])) {
		t.Fatalf("detail %q", pr["detail"])
	}
	if n := f.units("available"); n != 50 {
		t.Fatalf("%d units", n)
	}
}

// TestRefusedImportReadsTheWholeFile: a known serial near the start of a
// long file refuses it (on PostgreSQL, the copy of its cards stops there),
// yet the answer lists every bad line to the end, and the file's hash is
// the whole file's: the corrected file imports, the same refused file
// again is refused for the same lines rather than taken for a duplicate.
func TestRefusedImportReadsTheWholeFile(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 3, future(90))).Expect(t, 201)
	good := cards(1000, 30_000, future(90))
	bad := strings.Replace(good, "SER00001005,", "SER00000002,", 1) + "SER99999999,1,2020-01-01\nSER00001006,1," + future(90) + "\n"
	for range 2 {
		pr := f.importCards("warehouse", p, "warehouse", bad).ExpectProblem(t, 422)
		var got []string
		for _, e := range pr["errors"].([]any) {
			m := e.(map[string]any)
			got = append(got, fmt.Sprintf("%v: %v", m["line"], m["message"]))
		}
		want := []string{"7: serial SER00000002 is already known (batch 1)", "30002: expires_on 2020-01-01 is past", "30003: serial SER00001006 is also on line 8"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if n := f.units("available"); n != 3 {
		t.Fatalf("%d cards after a refused file, want the 3 before", n)
	}
	f.importCards("warehouse", p, "warehouse", good).Expect(t, 201)
	if n := f.units("available"); n != 30_003 {
		t.Fatalf("%d cards, want 30,003", n)
	}
	var first, last string
	f.DB.Raw(`SELECT serial FROM recharge_units WHERE batch_id <> 1 ORDER BY id LIMIT 1`).Row().Scan(&first)
	f.DB.Raw(`SELECT serial FROM recharge_units ORDER BY id DESC LIMIT 1`).Row().Scan(&last)
	if first != "SER00001000" || last != "SER00030999" {
		t.Errorf("cards stored from %s to %s, not in the file's order", first, last)
	}
}

// TestConcurrentImportsOfOverlappingFiles: sixteen files sent at once,
// neighbours sharing fifty serials, some sent twice, some in reverse order
// (two imports then wait on each other's serials). Every answer is a
// success with all its cards or a refusal with none; no serial is stored
// twice; a refusal names the serials someone else stored.
func TestConcurrentImportsOfOverlappingFiles(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	expires := future(200)
	files := make([]string, 16)
	for i := range 8 {
		files[i] = cards(i*100+1, 150, expires)
	}
	for i := 8; i < 12; i++ {
		files[i] = files[i-8] // the same file twice
	}
	for i := 12; i < 16; i++ { // reversed, with a header of its own
		lines := strings.Split(strings.TrimSuffix(cards((i-12)*200+51, 150, expires), "\n"), "\n")
		slices.Reverse(lines[1:])
		files[i] = strings.Join(lines, "\n") + "\n"
	}
	type answer struct {
		file   int
		status int
		body   map[string]any
	}
	answers := make([]answer, len(files))
	var wg sync.WaitGroup
	for i, file := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.HTTP.Do("POST", fmt.Sprintf("/api/v1/recharge-batches?product_id=%d&site_id=%d", p, f.Orgs["warehouse"].ID), f.Tokens["warehouse"], file, "Content-Type", "text/csv")
			var m map[string]any
			_ = json.Unmarshal(r.Body, &m)
			answers[i] = answer{i, r.Status, m}
		}()
	}
	wg.Wait()
	imported := map[int64]int{}
	total := 0
	for _, a := range answers {
		switch a.status {
		case 201:
			if got := int(a.body["imported"].(float64)); got != 150 {
				t.Errorf("file %d: %d cards imported of 150", a.file, got)
			}
			imported[id(a.body)] = 150
			total += 150
		case 422:
			for _, e := range a.body["errors"].([]any) {
				if msg := e.(map[string]any)["message"].(string); !strings.Contains(msg, "is already known (batch ") {
					t.Errorf("file %d refused for %q", a.file, msg)
				}
			}
		case 409:
			if kind := a.body["type"]; kind != "/problems/duplicate-file" && kind != "/problems/cards-changed" {
				t.Errorf("file %d: 409 %v", a.file, a.body)
			}
		default:
			t.Errorf("file %d: %d %v", a.file, a.status, a.body)
		}
	}
	if len(imported) == 0 {
		t.Fatal("no file imported")
	}
	var stored, distinct int64
	f.DB.Raw(`SELECT COUNT(*), COUNT(DISTINCT serial) FROM recharge_units`).Row().Scan(&stored, &distinct)
	if stored != int64(total) || distinct != stored {
		t.Errorf("%d cards stored (%d serials) after %d imported", stored, distinct, total)
	}
	var batches []struct {
		ID         int64
		Units      int
		FileSha256 string
		Cards      int
	}
	f.DB.Raw(`SELECT b.id, b.units, b.file_sha256, (SELECT COUNT(*) FROM recharge_units u WHERE u.batch_id = b.id) AS cards FROM recharge_batches b`).Scan(&batches)
	if len(batches) != len(imported) {
		t.Errorf("%d batches stored, %d imports answered 201", len(batches), len(imported))
	}
	for _, b := range batches {
		if imported[b.ID] != b.Units || b.Cards != b.Units || len(b.FileSha256) != 64 {
			t.Errorf("batch %d: %d units, %d cards, file %q", b.ID, b.Units, b.Cards, b.FileSha256)
		}
	}
	t.Logf("%d of %d files imported on %s", len(imported), len(files), testenv.Engine())
	if t.Failed() {
		t.Log(f.Logs.String()) // the server's log says what a 500 was
	}
}

func TestImportHundredThousandLines(t *testing.T) {
	t.Parallel() // heavy, and on its own database: let it overlap with the others
	f := newFixture(t)
	p := f.product(0)
	start := time.Now()
	r := f.importCards("warehouse", p, "warehouse", cards(1, 100_000, future(365))).Expect(t, 201).Map(t)
	if r["imported"].(float64) != 100_000 {
		t.Fatalf("imported %v", r["imported"])
	}
	if n := f.units("available"); n != 100_000 {
		t.Fatalf("%d units stored", n)
	}
	t.Logf("100,000 cards imported on %s in %s", testenv.Engine(), time.Since(start).Round(time.Millisecond))
}

// TestPINsNeverInClear imports cards with distinctive PINs, sells some, and
// searches the whole database and the server logs for them.
func TestPINsNeverInClear(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	var b strings.Builder
	b.WriteString("serial,pin,expires_on\n")
	var pins []string
	for i := range 20 {
		pin := fmt.Sprintf("ZQ%dPINSECRET%d", i, i*7919)
		pins = append(pins, pin)
		fmt.Fprintf(&b, "CARD%d,%s,%s\n", i, pin, future(100))
	}
	f.importCards("warehouse", p, "warehouse", b.String()).Expect(t, 201)
	sold := f.allocate(p, "warehouse", 3)
	if len(sold) != 3 || sold[0].PIN != pins[0] {
		t.Fatalf("allocation opened %v", sold)
	}
	// The report of sold cards carries no PIN.
	month := time.Now().Format("2006-01")
	report := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=%s", f.Orgs["operator"].ID, month), f.Tokens["admin"], nil).Expect(t, 200)
	dump := databaseDump(t, f) + "\n" + f.Logs.String() + "\n" + string(report.Body)
	for _, pin := range pins {
		if strings.Contains(dump, pin) {
			t.Fatalf("PIN %s found in clear in the database, the logs or the report", pin)
		}
	}
	if !strings.Contains(dump, "CARD1") {
		t.Fatal("the dump does not even hold the serials: it searched nothing")
	}
}

// databaseDump is every row of every table as text: the SQLite files'
// bytes, or on PostgreSQL each row cast to text.
func databaseDump(t *testing.T, f *fixture) string {
	t.Helper()
	if f.DB.Engine == database.SQLite {
		var path string
		f.DB.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path)
		f.DB.Exec("PRAGMA wal_checkpoint(FULL)")
		var out []byte
		for _, p := range []string{path, path + "-wal"} {
			b, _ := os.ReadFile(filepath.Clean(p))
			out = append(out, b...)
		}
		if len(out) == 0 {
			t.Fatalf("no database file at %q", path)
		}
		return string(out)
	}
	var tables []string
	f.DB.Raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").Scan(&tables)
	var b strings.Builder
	for _, tbl := range tables {
		var rows []string
		f.DB.Raw(fmt.Sprintf(`SELECT t::text FROM %q t`, tbl)).Scan(&rows)
		b.WriteString(strings.Join(rows, "\n"))
	}
	return b.String()
}

// allocate sells n cards of a product at a site in its own transaction.
func (f *fixture) allocate(product int64, site string, n int) []recharges.SoldUnit {
	f.t.Helper()
	var out []recharges.SoldUnit
	err := f.DB.Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = allocateIn(tx, f.Recharges, product, f.Orgs[site], n, nil)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestWrongKeyOpensNothing(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 5, future(30))).Expect(t, 201)
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	keys, _ := secrets.NewKeyring(other)
	wrong := recharges.NewService(recharges.Config{DB: f.DB, Partners: f.Partners, Keys: keys})
	err := f.DB.Transaction(func(tx *gorm.DB) error {
		_, err := allocateIn(tx, wrong, p, f.Orgs["warehouse"], 2, nil)
		return err
	})
	if !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(err.Error(), "TREMPLIN_SECRET_KEY") {
		t.Fatalf("wrong key: %v", err)
	}
	if n := f.units("available"); n != 5 {
		t.Fatalf("%d available after a failed sale, want 5: nothing may be sold", n)
	}
	// With the right key as a previous one, it opens; rotation re-seals under the new key.
	rotated, _ := secrets.NewKeyring(other, f.Key)
	svc := recharges.NewService(recharges.Config{DB: f.DB, Partners: f.Partners, Keys: rotated})
	n, err := svc.RotateKeys(context.Background(), nil)
	if err != nil || n != 5 {
		t.Fatalf("rotate: %d, %v", n, err)
	}
	var ids []string
	f.DB.Raw("SELECT DISTINCT pin_key_id FROM recharge_units").Scan(&ids)
	if len(ids) != 1 || ids[0] != rotated.CurrentID() {
		t.Fatalf("key ids after rotation %v", ids)
	}
	err = f.DB.Transaction(func(tx *gorm.DB) error {
		u, err := allocateIn(tx, wrong, p, f.Orgs["warehouse"], 1, nil)
		if err == nil && u[0].PIN != "PIN00000001X" {
			t.Errorf("PIN after rotation %q", u[0].PIN)
		}
		return err
	})
	if err != nil {
		t.Fatalf("the new key alone opens rotated PINs: %v", err)
	}
}

// TestConcurrentAllocation: 30 goroutines each selling one card from a stock
// of 10: exactly 10 sell, each card once.
func TestConcurrentAllocation(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 10, future(30))).Expect(t, 201)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]int{}
	ok, short := 0, 0
	var other []error
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []recharges.SoldUnit
			err := f.DB.Transaction(func(tx *gorm.DB) error {
				var err error
				got, err = allocateIn(tx, f.Recharges, p, f.Orgs["warehouse"], 1, nil)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				seen[got[0].ID]++
			case errors.Is(err, recharges.ErrStockShort) || strings.Contains(err.Error(), "stock"):
				short++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	if ok != 10 || short != 20 || len(seen) != 10 {
		t.Fatalf("%d sold, %d short, %d distinct cards", ok, short, len(seen))
	}
	if n := f.units("sold"); n != 10 {
		t.Fatalf("%d units sold in the database", n)
	}
}

func TestExpiry(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 3, future(1))).Expect(t, 201)
	f.importCards("warehouse", p, "warehouse", cards(10, 2, future(40))).Expect(t, 201)
	// First-expiring first.
	if u := f.allocate(p, "warehouse", 1); u[0].Serial != "SER00000001" {
		t.Fatalf("sold %s first", u[0].Serial)
	}
	// Three days later: the short-lived cards are past; a sale skips them even before the sweep.
	later := recharges.NewService(recharges.Config{DB: f.DB, Partners: f.Partners, Keys: f.Keys, Now: func() time.Time { return time.Now().AddDate(0, 0, 3) }})
	err := f.DB.Transaction(func(tx *gorm.DB) error {
		u, err := allocateIn(tx, later, p, f.Orgs["warehouse"], 1, nil)
		if err == nil && u[0].Serial != "SER00000010" {
			t.Errorf("sold %s, past its date", u[0].Serial)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Past their date, not swept yet: counted expired, not on the shelf.
	f.stockIs(t, later, p, "available 1, sold 2, expired 2")
	n, err := later.SweepExpired(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	f.stockIs(t, later, p, "available 1, sold 2, expired 2")
	if n, _ := later.SweepExpired(context.Background()); n != 0 {
		t.Fatalf("second sweep expired %d more", n)
	}
	if f.units("expired") != 2 || f.units("available") != 1 {
		t.Fatalf("expired %d, available %d", f.units("expired"), f.units("available"))
	}
	err = f.DB.Transaction(func(tx *gorm.DB) error {
		_, err := allocateIn(tx, later, p, f.Orgs["warehouse"], 2, nil)
		return err
	})
	if !errors.Is(err, recharges.ErrStockShort) {
		t.Fatalf("selling 2 of 1: %v", err)
	}
}

func TestRechargeTransferAndStock(t *testing.T) {
	f := newFixture(t)
	p := f.product(10)
	f.importCards("warehouse", p, "warehouse", cards(1, 10, future(20))).Expect(t, 201)
	f.importCards("warehouse", p, "warehouse", cards(100, 10, future(200))).Expect(t, 201)
	wh, sp := f.Orgs["warehouse"].ID, f.Orgs["space"].ID
	body := func(q int) map[string]any {
		return map[string]any{"from_site_id": wh, "to_site_id": sp, "recharges": []map[string]any{{"product_id": p, "quantity": q}}}
	}
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(21)).ExpectProblem(t, 409)
	f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(0)).ExpectProblem(t, 422)
	tr := f.HTTP.Do("POST", "/api/v1/transfers", f.Tokens["warehouse"], body(15)).Expect(t, 201).Map(t)
	if fmt.Sprint(tr["recharges"]) != fmt.Sprintf("[map[product_id:%d quantity:15]]", p) {
		t.Fatalf("recharge lines %v", tr["recharges"])
	}
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/ship", id(tr)), f.Tokens["warehouse"], nil).Expect(t, 200)
	// The delivery note lists the cards shipped: product, quantity, serials.
	manifest := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/transfers/%d/manifest.pdf", id(tr)), f.Tokens["warehouse"], nil).Expect(t, 200)
	text := strings.Join(strings.Fields(testenv.PDFText(t, manifest.Body)), " ")
	if !strings.Contains(text, "Recharges") || !strings.Contains(text, "Recharge 10 € — 20 Go 15") || !strings.Contains(text, "SER00000001 → SER00000104") {
		t.Fatalf("the delivery note does not list the cards: %s", text)
	}
	if dir := os.Getenv("TREMPLIN_SCREENSHOTS"); dir != "" {
		testenv.RenderPNG(t, manifest.Body, 100, dir, "manifest-recharges")
	}
	var inTransit []string
	f.DB.Raw("SELECT serial FROM recharge_units WHERE status = 'in_transit' ORDER BY serial").Scan(&inTransit)
	if len(inTransit) != 15 || inTransit[9] != "SER00000010" || inTransit[10] != "SER00000100" {
		t.Fatalf("shipped %v: want the 10 first-expiring, then 5 more", inTransit)
	}
	stock := func(user string, q string) map[int64]map[string]any {
		var lines []map[string]any
		f.HTTP.Do("GET", "/api/v1/recharge-stock"+q, f.Tokens[user], nil).Expect(t, 200).Decode(t, &lines)
		out := map[int64]map[string]any{}
		for _, l := range lines {
			if int64(l["product_id"].(float64)) == p {
				out[int64(l["site_id"].(float64))] = l
			}
		}
		return out
	}
	s := stock("admin", "")
	if s[wh]["available"].(float64) != 5 || s[wh]["in_transit"].(float64) != 15 || s[wh]["low"] != true || s[sp]["available"].(float64) != 0 {
		t.Fatalf("stock while shipping %v", s)
	}
	f.HTTP.Do("POST", fmt.Sprintf("/api/v1/transfers/%d/receive", id(tr)), f.Tokens["space"], map[string]any{"codes": []string{}}).Expect(t, 200)
	s = stock("space", "")
	if len(s) != 1 || s[sp]["available"].(float64) != 15 || s[sp]["low"] != false {
		t.Fatalf("space stock after receiving %v", s)
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-stock?site_id=%d", wh), f.Tokens["space"], nil).ExpectProblem(t, 404)
	// A site's own threshold overrides the product's.
	f.HTTP.Do("PUT", fmt.Sprintf("/api/v1/recharge-products/%d/thresholds/%d", p, sp), f.Tokens["space"], map[string]any{"threshold": 20}).Expect(t, 200)
	f.HTTP.Do("PUT", fmt.Sprintf("/api/v1/recharge-products/%d/thresholds/%d", p, wh), f.Tokens["space"], map[string]any{"threshold": 20}).ExpectProblem(t, 404)
	var low []map[string]any
	f.HTTP.Do("GET", "/api/v1/recharge-stock?low=true", f.Tokens["admin"], nil).Expect(t, 200).Decode(t, &low)
	if len(low) != 4 { // the warehouse (5 < 10), the other warehouse and space (0 < 10), the space (15 < 20)
		t.Fatalf("low stock %v", low)
	}
	f.HTTP.Do("GET", "/api/v1/recharge-stock", f.Tokens["prescriber"], nil).ExpectProblem(t, 403)
}

func TestSoldReport(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 5, future(30))).Expect(t, 201)
	f.allocate(p, "warehouse", 2)
	month := time.Now().UTC().Format("2006-01")
	r := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=%s", f.Orgs["operator"].ID, month), f.Tokens["admin"], nil).Expect(t, 200)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("content type %q", r.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if len(lines) != 3 || lines[0] != "serial,product,face_value_cents,sold_at,site,sale_id" ||
		!strings.HasPrefix(lines[1], "SER00000001,Recharge 10 € — 20 Go,1000,") || !strings.Contains(lines[1], "Entrepôt de Montreuil") {
		t.Fatalf("report:\n%s", r.Body)
	}
	if strings.Contains(string(r.Body), "PIN") {
		t.Fatal("PINs in the report")
	}
	empty := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=2020-01", f.Orgs["operator"].ID), f.Tokens["admin"], nil).Expect(t, 200)
	if strings.Count(string(empty.Body), "\n") != 1 {
		t.Fatalf("another month: %s", empty.Body)
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=2026-13", f.Orgs["operator"].ID), f.Tokens["admin"], nil).ExpectProblem(t, 422)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=%s", f.Orgs["donor"].ID, month), f.Tokens["admin"], nil).ExpectProblem(t, 422)
	f.HTTP.Do("GET", "/api/v1/recharge-reports/sold?month="+month, f.Tokens["admin"], nil).ExpectProblem(t, 422)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=%s", f.Orgs["operator"].ID, month), f.Tokens["warehouse"], nil).ExpectProblem(t, 403)
}

var _ = partners.RoleAdmin

// TestCheckFindsACardWithoutItsReferences: PostgreSQL no longer checks a
// card's batch, site, product, transfer and selling site row by row (an
// import checks the first three once, and writes the last two empty),
// so `tremplin check` does: a card pointing at a batch, a site or a product
// that does not exist is a breach. SQLite keeps its keys, which refuse
// such a card outright.
func TestCheckFindsACardWithoutItsReferences(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	f.importCards("warehouse", p, "warehouse", cards(1, 5, future(365))).Expect(t, 201)
	ctx := context.Background()
	if breaches, err := f.Recharges.Check(ctx); err != nil || len(breaches) != 0 {
		t.Fatalf("a clean import: %v %v", breaches, err)
	}
	var serials []string
	f.DB.Table("recharge_units").Order("id").Pluck("serial", &serials)
	broken := []struct{ set, missing string }{{"batch_id = 999999", "batch"}, {"site_id = 999999", "site"}, {"product_id = 999999", "product"},
		{"transfer_id = 999999", "transfer"}, {"sold_site_id = 999999", "selling site"}}
	for i, b := range broken {
		err := f.DB.Exec(`UPDATE recharge_units SET `+b.set+` WHERE serial = ?`, serials[i]).Error
		if f.DB.Engine == database.SQLite {
			if err == nil {
				t.Errorf("SQLite took a card whose %s does not exist", b.missing)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.DB.Engine == database.SQLite {
		return
	}
	breaches, err := f.Recharges.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range breaches {
		got = append(got, b.Rule+": "+b.Detail)
	}
	want := []string{}
	for i, b := range broken {
		want = append(want, fmt.Sprintf("card-reference: card %s names a %s that does not exist", serials[i], b.missing))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check said:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestShelvesAgreeWithStock: the dashboard's count of the cards on the
// shelves (one statement over the available cards) says what the full
// stock says of them, site by site, low marks included; a space sees its
// own site only.
func TestShelvesAgreeWithStock(t *testing.T) {
	f := newFixture(t)
	p := f.product(5)
	f.importCards("warehouse", p, "warehouse", cards(1, 8, future(365))).Expect(t, 201)
	f.importCards("admin", p, "space", cards(100, 4, future(30))).Expect(t, 201)
	f.allocate(p, "warehouse", 2)
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	full, err := f.Recharges.Stock(ctx, admin, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	shelves, err := f.Recharges.Shelves(ctx, admin, 0)
	if err != nil {
		t.Fatal(err)
	}
	brief := func(ls []recharges.StockLine) string {
		var b strings.Builder
		for _, l := range ls {
			fmt.Fprintf(&b, "%s/%s: %d (threshold %d, low %v); ", l.Site, l.Product, l.Available, l.Threshold, l.Low)
		}
		return b.String()
	}
	if brief(full) != brief(shelves) {
		t.Errorf("stock:   %s\nshelves: %s", brief(full), brief(shelves))
	}
	if !strings.Contains(brief(shelves), ": 6 (threshold 5, low false)") || !strings.Contains(brief(shelves), ": 4 (threshold 5, low true)") {
		t.Errorf("shelves: %s", brief(shelves))
	}
	space := partners.Caller{Role: partners.RoleSpace, OrganizationID: f.Orgs["space"].ID, OrganizationKind: partners.KindSpace}
	own, err := f.Recharges.Shelves(ctx, space, 0)
	if err != nil || len(own) != 1 || own[0].SiteID != f.Orgs["space"].ID || own[0].Available != 4 || !own[0].Low {
		t.Errorf("a space's shelves: %v %v", own, err)
	}
	if _, err := f.Recharges.Shelves(ctx, space, f.Orgs["warehouse"].ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("another site's shelves: %v", err)
	}
	// The counter's buttons say the same, in one statement.
	for _, who := range []partners.Caller{space, admin} {
		counter, err := f.Recharges.Counter(ctx, who, f.Orgs["space"].ID)
		if err != nil || len(counter) != 1 || counter[0].ID != p || counter[0].Available != 4 {
			t.Errorf("the counter of the space, as %s: %+v %v", who.Role, counter, err)
		}
	}
	if counter, err := f.Recharges.Counter(ctx, admin, f.Orgs["warehouse"].ID); err != nil || len(counter) != 1 || counter[0].Available != 6 {
		t.Errorf("the counter of the warehouse: %+v %v", counter, err)
	}
	if _, err := f.Recharges.Counter(ctx, space, f.Orgs["warehouse"].ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("another site's counter: %v", err)
	}
}

// allocateIn sells cards in tx as a sale does, its figures with them.
func allocateIn(tx *gorm.DB, s *recharges.Service, product int64, site partners.Organization, n int, saleID *int64) ([]recharges.SoldUnit, error) {
	var fig figures.Tally
	out, err := s.Allocate(context.Background(), tx, &fig, product, site, n, saleID)
	if err != nil {
		return nil, err
	}
	return out, fig.Flush(tx)
}

// stockIs checks a product's stock at the warehouse as Stock tells it,
// and that the figures it reads equal a recount of the cards.
func (f *fixture) stockIs(t *testing.T, s *recharges.Service, product int64, want string) {
	t.Helper()
	lines, err := s.Stock(context.Background(), partners.Caller{Role: partners.RoleAdmin}, f.Orgs["warehouse"].ID, false)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, l := range lines {
		if l.ProductID == product {
			got = fmt.Sprintf("available %d, sold %d, expired %d", l.Available, l.Sold, l.Expired)
		}
	}
	if got != want {
		t.Errorf("stock: %s, want %s", got, want)
	}
	stored, err := figures.Stored(context.Background(), f.DB.DB)
	if err != nil {
		t.Fatal(err)
	}
	counted, err := figures.Recount(context.Background(), f.DB.DB)
	if err != nil {
		t.Fatal(err)
	}
	if d := figures.Compare(stored, counted, 5); len(d) > 0 {
		t.Errorf("figures differ from a recount: %v", d)
	}
}
