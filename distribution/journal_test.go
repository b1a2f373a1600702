package distribution_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/journal"
)

// journalBreaches is what the check's rule "journal" says.
func (f *fixture) journalBreaches() []string {
	f.t.Helper()
	all, err := f.svc.Check(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, b := range all {
		if b.Rule == "journal" {
			out = append(out, b.Detail)
		}
	}
	return out
}

// exec runs SQL behind Tremplin's back.
func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if err := f.db.Exec(query, args...).Error; err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestJournalShowsTampering: sales, a refund and a closing go into their
// site's chain; the closing shows the chain's head; a total changed in
// SQL, a refund deleted with the foreign keys off, a closing's count
// changed, an entry edited and the last entry removed are each named by
// the check.
func TestJournalShowsTampering(t *testing.T) {
	f := newFixture(t)
	f.clock.Set(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	d1, d2 := f.device("space", "smartphone", 4500), f.device("space", "smartphone", 3000)
	p := f.cards("space", 3)
	code := f.voucherWith(2, 2)
	s1 := f.sell("space", "j-1", map[string]any{"voucher_code": code, "items": []any{dev(d1), rech(p, 1)}}).Expect(t, 201).Map(t)
	s2 := f.sell("space", "j-2", map[string]any{"voucher_code": code, "payment_method": "card", "items": []any{dev(d2)}}).Expect(t, 201).Map(t)
	f.http.Do("POST", fmt.Sprintf("/api/v1/sales/%v/refund", s2["id"]), f.tokens["space"], map[string]any{"reason": "écran cassé", "device_ids": []int64{d2}}).Expect(t, 200)
	// Another site's chain is its own.
	d3 := f.device("space2", "smartphone", 2000)
	f.sell("space2", "j-3", map[string]any{"site_id": f.orgs["space2"].ID, "voucher_code": f.voucherWith(1, 0), "items": []any{dev(d3)}}).Expect(t, 201)

	site := f.orgs["space"].ID
	open := f.http.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing?date=2026-11-23", site), f.tokens["space"], nil).Expect(t, 200).Map(t)
	if open["journal_hash"] != nil {
		t.Fatalf("an open day shows a journal head: %v", open["journal_hash"])
	}
	closed := f.http.Do("POST", fmt.Sprintf("/api/v1/sites/%d/closing", site), f.tokens["space"], map[string]any{"date": "2026-11-23", "counted_cash_cents": 4700}).Expect(t, 201).Map(t)
	head, _ := closed["journal_hash"].(string)
	if !hexHash.MatchString(head) {
		t.Fatalf("closing's journal_hash %v", closed["journal_hash"])
	}
	again := f.http.Do("GET", fmt.Sprintf("/api/v1/sites/%d/closing?date=2026-11-23", site), f.tokens["space"], nil).Expect(t, 200).Map(t)
	if again["journal_hash"] != head {
		t.Fatalf("the recorded closing shows %v, recorded %s", again["journal_hash"], head)
	}
	var entries []struct {
		Seq  int64
		Kind string
		Hash string
	}
	f.db.Raw(`SELECT seq, kind, hash FROM journal_entries WHERE site_id = ? ORDER BY seq`, site).Scan(&entries)
	kinds := []string{}
	for _, e := range entries {
		kinds = append(kinds, fmt.Sprintf("%d:%s", e.Seq, e.Kind))
	}
	if strings.Join(kinds, " ") != "1:sale 2:sale 3:refund 4:closing" || entries[3].Hash != head {
		t.Fatalf("journal of the site: %v (head %s)", kinds, head)
	}
	if b := f.journalBreaches(); len(b) != 0 {
		t.Fatalf("an untouched journal has breaches: %v", b)
	}

	// A total changed behind Tremplin's back.
	f.exec(`UPDATE sales SET total_cents = total_cents + 1000 WHERE id = ?`, s1["id"])
	// A refund deleted, its line set free first (the foreign keys would
	// refuse it otherwise, as disabled triggers would allow it).
	var refund int64
	f.db.Raw(`SELECT id FROM refunds`).Scan(&refund)
	f.exec(`UPDATE sale_lines SET refund_id = NULL WHERE refund_id = ?`, refund)
	f.exec(`DELETE FROM refunds WHERE id = ?`, refund)
	// The closing's count changed.
	f.exec(`UPDATE closings SET counted_cash_cents = 5700 WHERE site_id = ?`, site)
	got := strings.Join(f.journalBreaches(), "\n")
	for _, want := range []string{
		fmt.Sprintf("sale %v was changed", s1["id"]),
		fmt.Sprintf("refund %d was removed", refund),
		fmt.Sprintf("closing %d/2026-11-23 was changed", site),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the check does not say %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n")+1 != 3 {
		t.Errorf("three changes, other breaches:\n%s", got)
	}

	// An entry edited to say what the row says now: its hash betrays it.
	f.exec(`UPDATE journal_entries SET content = REPLACE(content, '"total_cents":4700', '"total_cents":5700') WHERE site_id = ? AND seq = 1`, site)
	got = strings.Join(f.journalBreaches(), "\n")
	if !strings.Contains(got, "entry 1: sale") || !strings.Contains(got, "does not match its hash") {
		t.Errorf("an edited entry is not named:\n%s", got)
	}
	// The last entry removed: the head says more.
	f.exec(`DELETE FROM journal_entries WHERE site_id = ? AND seq = 4`, site)
	got = strings.Join(f.journalBreaches(), "\n")
	if !strings.Contains(got, "the chain ends at entry 3 but its head says 4") {
		t.Errorf("a removed entry is not named:\n%s", got)
	}
	// The other site is untouched.
	if strings.Contains(got, fmt.Sprintf("site %d,", f.orgs["space2"].ID)) {
		t.Errorf("the other site's chain is blamed:\n%s", got)
	}
}

// TestJournalUnderConcurrentSales: 24 sales at once at one site, 8 at
// another, each with its own voucher: each chain numbers its entries
// without a gap or a fork, and the check is clean.
func TestJournalUnderConcurrentSales(t *testing.T) {
	f := newFixture(t)
	type sale struct {
		site string
		code string
		dev  int64
	}
	var sales []sale
	for i := range 32 {
		site := "space"
		if i%4 == 3 {
			site = "space2"
		}
		sales = append(sales, sale{site, f.voucherWith(1, 0), f.device(site, "smartphone", 1000)})
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(sales))
	for i, s := range sales {
		wg.Go(func() {
			statuses[i] = f.sell(s.site, fmt.Sprintf("c-%d", i), map[string]any{"site_id": f.orgs[s.site].ID, "voucher_code": s.code, "items": []any{dev(s.dev)}}).Status
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 201 {
			t.Fatalf("sale %d: %d", i, st)
		}
	}
	for key, want := range map[string]int64{"space": 24, "space2": 8} {
		var got struct {
			N     int64
			Max   int64
			Links int64
		}
		f.db.Raw(`SELECT COUNT(*) AS n, MAX(seq) AS max, COUNT(DISTINCT prev_hash) AS links FROM journal_entries WHERE site_id = ?`, f.orgs[key].ID).Scan(&got)
		if got.N != want || got.Max != want || got.Links != want {
			t.Errorf("%s: %d entries, last %d, %d distinct links; want %d", key, got.N, got.Max, got.Links, want)
		}
	}
	if b := f.journalBreaches(); len(b) != 0 {
		t.Fatalf("breaches after concurrent sales: %v", b)
	}
	f.assertSalesClean()
}

// TestJournalOpensAMissingChain: a site whose chain was never opened (a
// warehouse, a site older than the journal) journals its first sale all
// the same, as entry 1 after Genesis, and its next one after it.
func TestJournalOpensAMissingChain(t *testing.T) {
	f := newFixture(t)
	site := f.orgs["space"].ID
	if err := f.db.Exec(`DELETE FROM journal_heads WHERE site_id = ?`, site).Error; err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		d := f.device("space", "smartphone", 1000)
		f.sell("space", fmt.Sprintf("open-%d", i), map[string]any{"voucher_code": f.voucherWith(1, 0), "items": []any{dev(d)}}).Expect(t, 201)
	}
	var entries []struct {
		Seq      int64
		PrevHash string
	}
	f.db.Raw(`SELECT seq, prev_hash FROM journal_entries WHERE site_id = ? ORDER BY seq`, site).Scan(&entries)
	if len(entries) != 2 || entries[0].Seq != 1 || entries[0].PrevHash != journal.Genesis || entries[1].Seq != 2 {
		t.Fatalf("entries %+v", entries)
	}
	if b := f.journalBreaches(); len(b) != 0 {
		t.Fatalf("breaches: %v", b)
	}
}
