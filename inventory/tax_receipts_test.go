package inventory_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/testenv"
)

// taxNetwork turns tax receipts on and gives the test donor its SIREN.
func (f *fixture) taxNetwork() {
	f.t.Helper()
	f.HTTP.Do("PATCH", "/api/v1/network", f.Tokens["admin"], map[string]any{"legal_name": "Réseau Tremplin", "address": "5 rue du Réemploi, 93100 Montreuil",
		"siren": "123456789", "rna": "W931234567", "purpose": "Réemploi solidaire d'équipements numériques", "tax_receipts": true}).Expect(f.t, 200)
	f.HTTP.Do("PATCH", fmt.Sprintf("/api/v1/organizations/%d", f.Orgs["donor"].ID), f.Tokens["admin"], map[string]any{"siren": "552 100 554"}).Expect(f.t, 200)
}

// TestTaxReceipts: an admin issues a donation's receipt, numbered
// 2026-0001; its PDF holds both SIRENs, the value in euros and in words,
// the devices by category and the article; a second receipt for the
// donation is a 409; a cancelled receipt keeps its number and says why, and
// a new one takes the next number; bad input, a network that does not
// issue receipts and other roles change nothing.
func TestTaxReceipts(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	f.device(don, nil)
	f.device(don, map[string]any{"category": "laptop"})
	f.device(don, map[string]any{"category": "laptop"})
	path := fmt.Sprintf("/api/v1/donations/%d/tax-receipt", don)
	body := map[string]any{"value_cents": 45000, "valuation": "Valeur de revente de matériel reconditionné de même grade"}
	f.HTTP.Do("POST", path, f.Tokens["admin"], body).ExpectProblem(t, 409) // the network does not issue them yet
	f.taxNetwork()
	for _, user := range []string{"warehouse", "space", "prescriber"} {
		f.HTTP.Do("POST", path, f.Tokens[user], body).ExpectProblem(t, 403)
	}
	f.HTTP.Do("POST", path, f.Tokens["admin"], map[string]any{"value_cents": 0, "valuation": ""}).ExpectProblem(t, 422)
	r := f.HTTP.Do("POST", path, f.Tokens["admin"], body).Expect(t, 201).Map(t)
	year := time.Now().Year()
	if r["number"] != fmt.Sprintf("%d-0001", year) || r["status"] != "issued" {
		t.Fatalf("the receipt: %v", r)
	}
	f.HTTP.Do("POST", path, f.Tokens["admin"], body).ExpectProblem(t, 409)
	pdf := f.HTTP.Do("GET", path+".pdf", f.Tokens["admin"], nil).Expect(t, 200).Body
	text := strings.Join(strings.Fields(testenv.PDFText(t, pdf)), " ")
	for _, want := range []string{fmt.Sprintf("%d-0001", year), "123456789", "552100554", "450,00", "quatre cent cinquante euros",
		"article 238 bis du code général des impôts", "1 smartphone", "2 ordinateurs portables", "Réseau Tremplin", "W931234567", "don en nature"} {
		if !strings.Contains(text, want) {
			t.Errorf("the receipt lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
	f.HTTP.Do("GET", path+".pdf", f.Tokens["warehouse"], nil).ExpectProblem(t, 403)
	f.HTTP.Do("POST", path+"/cancel", f.Tokens["admin"], map[string]any{"reason": ""}).ExpectProblem(t, 422)
	c := f.HTTP.Do("POST", path+"/cancel", f.Tokens["admin"], map[string]any{"reason": "valeur mal saisie"}).Expect(t, 200).Map(t)
	if c["status"] != "cancelled" || c["number"] != r["number"] {
		t.Fatalf("cancelled: %v", c)
	}
	if text := testenv.PDFText(t, f.HTTP.Do("GET", path+".pdf", f.Tokens["admin"], nil).Expect(t, 200).Body); !strings.Contains(text, "ANNULÉ") || !strings.Contains(text, "valeur mal saisie") {
		t.Fatalf("the cancelled receipt:\n%s", text)
	}
	f.HTTP.Do("POST", path+"/cancel", f.Tokens["admin"], map[string]any{"reason": "encore"}).ExpectProblem(t, 404)
	again := f.HTTP.Do("POST", path, f.Tokens["admin"], body).Expect(t, 201).Map(t)
	if again["number"] != fmt.Sprintf("%d-0002", year) {
		t.Fatalf("the new receipt after a cancel: %v", again)
	}
	f.HTTP.Do("POST", "/api/v1/donations/999999/tax-receipt", f.Tokens["admin"], body).ExpectProblem(t, 404)
}

// TestConcurrentTaxReceipts: ten receipts issued at once for ten donations
// get the numbers 1 to 10, without a gap or a repeat.
func TestConcurrentTaxReceipts(t *testing.T) {
	f := newFixture(t)
	f.taxNetwork()
	var dons []int64
	for range 10 {
		dons = append(dons, f.donation())
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var numbers []string
	statuses := map[int]int{}
	for _, don := range dons {
		wg.Go(func() {
			r := f.HTTP.Do("POST", fmt.Sprintf("/api/v1/donations/%d/tax-receipt", don), f.Tokens["admin"],
				map[string]any{"value_cents": 10000, "valuation": "forfait"})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == 201 {
				numbers = append(numbers, r.Map(t)["number"].(string))
			}
		})
	}
	wg.Wait()
	slices.Sort(numbers)
	year := time.Now().Year()
	var want []string
	for i := 1; i <= 10; i++ {
		want = append(want, fmt.Sprintf("%d-%04d", year, i))
	}
	if statuses[201] != 10 || !slices.Equal(numbers, want) {
		t.Fatalf("statuses %v, numbers %v", statuses, numbers)
	}
}
