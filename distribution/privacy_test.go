package distribution_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAnonymiseKeepsCountsAndDropsNames(t *testing.T) {
	f := newFixture(t)
	old := f.beneficiary("prescriber", map[string]any{"first_name": "Ancien", "last_name": "Bénéficiaire", "birth_year": 1950, "postal_code": "93100"})
	oldDOM := f.beneficiary("prescriber2", map[string]any{"first_name": "Ancienne", "last_name": "Réunionnaise", "postal_code": "97420"})
	f.voucher("prescriber", id(old), 30)
	recent := f.beneficiary("prescriber", map[string]any{"first_name": "Récent", "last_name": "Actif", "postal_code": "75020"})
	withValid := f.beneficiary("prescriber", map[string]any{"first_name": "Bon", "last_name": "Valide"})
	f.voucher("prescriber", id(withValid), 365)
	// Three years ago for the old ones; the one with a still valid voucher too, but it must stay.
	threeYears := time.Now().AddDate(-3, 0, 0)
	for _, b := range []map[string]any{old, oldDOM, withValid} {
		f.db.Exec(`UPDATE beneficiaries SET last_activity_at = ? WHERE id = ?`, threeYears, id(b))
	}
	// The old person's voucher ran out long ago.
	f.db.Exec(`UPDATE vouchers SET expires_at = ? WHERE beneficiary_id = ?`, threeYears.AddDate(0, 1, 0), id(old))
	countBefore := counts(f)
	n, err := f.svc.Anonymise(context.Background(), time.Now().AddDate(0, -24, 0))
	if err != nil || n != 2 {
		t.Fatalf("anonymised %d, %v; want 2", n, err)
	}
	if got := counts(f); got != countBefore {
		t.Fatalf("counts changed: %s → %s", countBefore, got)
	}
	type row struct {
		FirstName, LastName string
		BirthYear           *int
		PostalCode          *string
	}
	get := func(b map[string]any) row {
		var r row
		f.db.Raw(`SELECT first_name, last_name, birth_year, postal_code FROM beneficiaries WHERE id = ?`, id(b)).Scan(&r)
		return r
	}
	if r := get(old); r.FirstName != "" || r.LastName != "" || r.BirthYear == nil || *r.BirthYear != 1950 || *r.PostalCode != "93" {
		t.Fatalf("old beneficiary %+v", r)
	}
	if r := get(oldDOM); *r.PostalCode != "974" {
		t.Fatalf("overseas département kept as %v", *r.PostalCode)
	}
	if r := get(recent); r.FirstName != "Récent" {
		t.Fatalf("recent beneficiary anonymised: %+v", r)
	}
	if r := get(withValid); r.FirstName != "Bon" {
		t.Fatalf("a person with a valid voucher was anonymised: %+v", r)
	}
	// Running again changes nothing.
	if n, _ := f.svc.Anonymise(context.Background(), time.Now().AddDate(0, -24, 0)); n != 0 {
		t.Fatalf("second run anonymised %d", n)
	}
	// An anonymised person cannot get a new voucher.
	f.http.Do("POST", "/api/v1/vouchers", f.tokens["prescriber"], map[string]any{"beneficiary_id": id(old), "recharges": 1, "valid_days": 5}).ExpectProblem(t, 409)
}

func counts(f *fixture) string {
	var b, v int64
	f.db.Table("beneficiaries").Count(&b)
	f.db.Table("vouchers").Count(&v)
	return fmt.Sprintf("%d beneficiaries, %d vouchers", b, v)
}

func TestExportAndAccessLog(t *testing.T) {
	f := newFixture(t)
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont", "birth_year": 1960})
	code := f.voucher("prescriber", id(b), 30)["code"].(string)
	f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["space"], nil).Expect(t, 200)
	f.http.Do("GET", fmt.Sprintf("/api/v1/beneficiaries/%d", id(b)), f.tokens["prescriber"], nil).Expect(t, 200)
	e := f.http.Do("GET", fmt.Sprintf("/api/v1/beneficiaries/%d/export", id(b)), f.tokens["prescriber"], nil).Expect(t, 200).Map(t)
	if e["beneficiary"].(map[string]any)["last_name"] != "Dupont" || len(e["vouchers"].([]any)) != 1 {
		t.Fatalf("export %v", e)
	}
	var actions []string
	for _, a := range e["access_log"].([]any) {
		m := a.(map[string]any)
		actions = append(actions, fmt.Sprint(m["action"], " by ", m["user"]))
	}
	got := strings.Join(actions, ", ")
	for _, want := range []string{"beneficiary.create by User prescriber", "voucher.issue by User prescriber", "voucher.lookup by User space", "beneficiary.read by User prescriber"} {
		if !strings.Contains(got, want) {
			t.Errorf("access log lacks %q: %s", want, got)
		}
	}
}

// TestExportHoldsOnlyThePersonsAccesses: a person's export lists accesses to
// that person and their vouchers, not the network's failed voucher lookups
// (which name no voucher), nor anything of another organisation. Before,
// every export held every voucher.lookup_failed row of the network.
func TestExportHoldsOnlyThePersonsAccesses(t *testing.T) {
	f := newFixture(t)
	other := f.beneficiary("prescriber2", map[string]any{"first_name": "Autre", "last_name": "Personne"})
	otherCode := f.voucher("prescriber2", id(other), 30)["code"].(string)
	f.http.Do("GET", "/api/v1/vouchers/"+otherCode, f.tokens["space"], nil).Expect(t, 200)
	f.http.Do("GET", "/api/v1/vouchers/ZZZZ-ZZZZ-ZZZZ", f.tokens["space"], nil).ExpectProblem(t, 404)
	var failed int64
	f.db.Table("audit_log").Where("action = ?", "voucher.lookup_failed").Count(&failed)
	if failed == 0 {
		t.Fatal("the failed lookup was not audited: the test proves nothing")
	}
	for _, withVoucher := range []bool{false, true} {
		b := f.beneficiary("prescriber", map[string]any{"first_name": "Jeanne", "last_name": fmt.Sprint("Nouvelle", withVoucher)})
		if withVoucher {
			f.voucher("prescriber", id(b), 30)
		}
		e := f.http.Do("GET", fmt.Sprintf("/api/v1/beneficiaries/%d/export", id(b)), f.tokens["prescriber"], nil).Expect(t, 200).Map(t)
		for _, a := range e["access_log"].([]any) {
			m := a.(map[string]any)
			if m["action"] == "voucher.lookup_failed" || m["action"] == "voucher.lookup" || m["user"] != "User prescriber" {
				t.Errorf("export of a new person (voucher: %v) lists %v by %v", withVoucher, m["action"], m["user"])
			}
		}
	}
}
