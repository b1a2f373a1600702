package reports_test

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/reports"
)

func TestDepartement(t *testing.T) {
	for pc, want := range map[string]string{"93100": "93", "97420": "974", "97600": "976", "97100": "971", "20000": "2A", "20200": "2B",
		"98800": "988", "975": "975", "": "", "7": ""} {
		if got := reports.Departement(pc); got != want {
			t.Errorf("Departement(%q) = %q, want %q", pc, got, want)
		}
	}
}

// assertProtected checks the published table as an attacker would: no
// line under 5 people shows, and no group that a margin sums holds exactly
// one hidden line (which subtraction would give back).
func assertProtected(t *testing.T, cells []reports.OpenCell) {
	t.Helper()
	groups := map[string][]reports.OpenCell{}
	for _, c := range cells {
		if !c.Hidden && c.People < reports.MinPeople {
			t.Errorf("published with %d people: %+v", c.People, c)
		}
		groups["cat|"+c.Month+"|"+c.Category] = append(groups["cat|"+c.Month+"|"+c.Category], c)
		groups["dep|"+c.Month+"|"+c.Departement] = append(groups["dep|"+c.Month+"|"+c.Departement], c)
	}
	for name, g := range groups {
		hidden := 0
		for _, c := range g {
			if c.Hidden {
				hidden++
			}
		}
		if hidden == 1 && len(g) > 1 {
			t.Errorf("group %s: one line hidden alone, recoverable from the others: %+v", name, g)
		}
	}
}

func TestSuppressionLeavesNothingRecoverable(t *testing.T) {
	// By hand: in March, 93 has 12 smartphones and 3 laptops; 974 has 8
	// smartphones and 6 laptops. The 3 is hidden, and so must be a second
	// laptop line (974's, the smallest) and a second 93 line.
	cells := reports.Suppress([]reports.OpenCell{
		{Departement: "93", Month: "2026-03", Category: "smartphone", People: 12},
		{Departement: "93", Month: "2026-03", Category: "laptop", People: 3},
		{Departement: "93", Month: "2026-03", Category: reports.All, People: 15},
		{Departement: "974", Month: "2026-03", Category: "smartphone", People: 8},
		{Departement: "974", Month: "2026-03", Category: "laptop", People: 6},
		{Departement: "974", Month: "2026-03", Category: reports.All, People: 14},
		{Departement: reports.All, Month: "2026-03", Category: "smartphone", People: 20},
		{Departement: reports.All, Month: "2026-03", Category: "laptop", People: 9},
		{Departement: reports.All, Month: "2026-03", Category: reports.All, People: 29},
	})
	hidden := map[string]bool{}
	for _, c := range cells {
		if c.Hidden {
			hidden[c.Departement+"/"+c.Category] = true
		}
	}
	if !hidden["93/laptop"] || !hidden["974/laptop"] || !hidden["93/smartphone"] || !hidden["974/smartphone"] || hidden["total/total"] {
		t.Errorf("hidden: %v", hidden)
	}
	assertProtected(t, cells)

	// At random: many small tables, each checked as an attacker would.
	r := rand.New(rand.NewPCG(1, 2))
	deps := []string{"93", "971", "972", "973", "974", "976", "2A"}
	cats := []string{"smartphone", "laptop", "tablet", "recharge"}
	for range 300 {
		var rows []reports.OpenCell
		for _, d := range deps {
			for _, c := range cats {
				if r.IntN(3) > 0 {
					rows = append(rows, reports.OpenCell{Departement: d, Month: "2026-01", Category: c, People: int64(1 + r.IntN(12))})
				}
			}
		}
		assertProtected(t, reports.Suppress(withMargins(rows)))
	}
}

// withMargins adds the margins a real aggregate has (people as sums here).
func withMargins(rows []reports.OpenCell) []reports.OpenCell {
	sums := map[[2]string]int64{}
	for _, c := range rows {
		sums[[2]string{c.Departement, reports.All}] += c.People
		sums[[2]string{reports.All, c.Category}] += c.People
		sums[[2]string{reports.All, reports.All}] += c.People
	}
	for k, n := range sums {
		rows = append(rows, reports.OpenCell{Departement: k[0], Month: "2026-01", Category: k[1], People: n})
	}
	return rows
}

// TestTerritoryReports: the open data and the funder report of a network
// where twelve people of Seine-Saint-Denis and three of Mayotte bought.
func TestTerritoryReports(t *testing.T) {
	n := newNetwork(t, at("2026-04-01T08:00:00Z"))
	phones := n.devices(`{}`, repeat(inventory.Smartphone, 15)...)
	for _, id := range phones {
		n.ready(id, 2000)
	}
	n.send("run", phones...)
	for i, id := range phones {
		pc, presc := "93100", "prescriberA"
		if i >= 12 {
			pc, presc = "97600", "prescriberB"
		}
		b, err := n.dist.CreateBeneficiary(n.ctx, n.prescriber(presc), distribution.NewBeneficiary{FirstName: fmt.Sprintf("P%d", i), LastName: "Nom", PostalCode: &pc})
		n.must(err)
		v, err := n.dist.IssueVoucher(n.ctx, n.prescriber(presc), distribution.NewVoucher{BeneficiaryID: b.ID, DeviceCategories: []string{"smartphone"}, Devices: 1, ValidDays: 30})
		n.must(err)
		n.sell("run", v.Code, "cash", distribution.SaleItem{DeviceID: id})
	}
	n.clock.Set(at("2026-05-02T08:00:00Z"))

	body := n.http.Do("GET", "/api/v1/reports/open-data.csv?from=2026-04-01&to=2026-04-30", n.net.Tokens["admin"], nil).Expect(t, 200).Body
	records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	n.must(err)
	if strings.Join(records[0], ",") != "departement,month,category,people,devices,recharges" {
		t.Fatalf("header %v", records[0])
	}
	lines := map[string]string{}
	for _, r := range records[1:] {
		lines[r[0]+"/"+r[2]] = strings.Join(r[3:], ",")
	}
	// Mayotte's 3 are hidden, and with them Seine-Saint-Denis's line (else
	// total − 93 would give Mayotte back); the network's total shows.
	if lines["976/smartphone"] != ",," || lines["93/smartphone"] != ",," || lines["total/total"] != "15,15,0" {
		t.Errorf("open data:\n%s", body)
	}
	n.http.Do("GET", "/api/v1/reports/open-data.csv", n.net.Tokens["run"], nil).ExpectProblem(t, 403)

	var f reports.Funders
	n.http.Do("GET", "/api/v1/reports/funders?from=2026-04-01&to=2026-04-30", n.net.Tokens["admin"], nil).Expect(t, 200).Decode(t, &f)
	got := fmt.Sprint(f.Departements, f.Total.People)
	if got != "[{93 0  12 12 0 0} {976 0  3 3 0 0}] 15" || len(f.Prescribers) != 2 || f.Prescribers[0].People+f.Prescribers[1].People != 15 {
		t.Errorf("funders %s %+v", got, f.Prescribers)
	}
	fcsv := n.http.Do("GET", "/api/v1/reports/funders?from=2026-04-01&to=2026-04-30", n.net.Tokens["admin"], nil, "Accept", "text/csv").Expect(t, 200).Body
	frecs, err := csv.NewReader(strings.NewReader(string(fcsv))).ReadAll()
	n.must(err)
	if len(frecs) != 1+2+2+1 || strings.Join(frecs[2], ",") != "departement,976,,3,3,0,0" {
		t.Errorf("funders csv %v", frecs)
	}
	pdf := n.http.Do("GET", "/api/v1/reports/funders?from=2026-04-01&to=2026-04-30", n.net.Tokens["admin"], nil, "Accept", "application/pdf").Expect(t, 200).Body
	text := testenv.PDFText(t, pdf)
	for _, want := range []string{"976", "Mission locale Nord", "15 personnes équipées"} {
		if !strings.Contains(text, want) {
			t.Errorf("funder PDF lacks %q:\n%s", want, text)
		}
	}
	n.http.Do("GET", "/api/v1/reports/funders", n.net.Tokens["prescriberA"], nil).ExpectProblem(t, 403)
	n.http.Do("GET", "/api/v1/reports/funders?from=2026-04-31", n.net.Tokens["admin"], nil).ExpectProblem(t, 422)
}
