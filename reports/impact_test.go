package reports_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/reports"
)

// TestDonorImpactReport: a donor's five devices (two smartphones and a
// laptop reused, a tablet reused without a published factor, one
// smartphone recycled), and another donor's device left out; the PDF
// read with pdftotext says each figure and cites each factor's source.
func TestDonorImpactReport(t *testing.T) {
	n := newNetwork(t, at("2026-06-01T08:00:00Z"))
	mine := n.devicesFrom(n.org("donor"), `{}`, inventory.Smartphone, inventory.Smartphone, inventory.Smartphone, inventory.Laptop, inventory.Tablet)
	n.must(n.db.Exec(`INSERT INTO organizations (kind, name, timezone, active, created_at, updated_at) VALUES ('donor', 'Banque Solidaire', 'Europe/Paris', true, ?, ?)`,
		database.Now(), database.Now()).Error)
	var other int64
	n.db.Raw(`SELECT id FROM organizations WHERE name = 'Banque Solidaire'`).Scan(&other)
	theirs := n.devicesFrom(other, `{}`, inventory.Smartphone)
	sold := []int64{mine[0], mine[1], mine[3], mine[4], theirs[0]}
	for _, id := range sold {
		n.ready(id, 2000)
	}
	reason := "écran cassé"
	_, err := n.inv.Apply(n.ctx, admin, mine[2], inventory.Transition{Action: "recycle", Reason: &reason})
	n.must(err)
	n.send("run", sold...)
	for i, id := range sold {
		code := n.voucher("prescriberA", fmt.Sprintf("D%d", i), 1, 0, 30)
		n.sell("run", code, "cash", distribution.SaleItem{DeviceID: id})
	}

	pdf := n.http.Do("GET", fmt.Sprintf("/api/v1/reports/donors/%d/impact.pdf?from=2026-06-01&to=2026-06-30", n.org("donor")), n.net.Tokens["admin"], nil).Expect(t, 200)
	if pdf.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("content type %q", pdf.Header.Get("Content-Type"))
	}
	text := strings.Join(strings.Fields(testenv.PDFText(t, pdf.Body)), " ")
	for _, want := range []string{
		"Rapport d'impact — Assurances Mutuelles",
		"Appareils donnés 5",
		"orientée par un travailleur 4", // the cell wraps: "social" comes after the number
		"24,6 kg CO2e par appareil et par an, 76,9 kg de matières",
		"Données effacées (effacement certifié réussi) 4",
		"Recyclés (filière agréée) 1",
		"Personnes équipées 4",
		fmt.Sprintf("Certificat du don n° %d", n.donationOf(mine[0])),
		"ADEME, « Évaluation de l'impact environnemental d'un ensemble de produits reconditionnés », septembre 2022",
		"76 kg de CO2e et 281 kg de matières premières", // 2 × 24,6 + 27; 2 × 76,9 + 127
		"1 appareil réemployé d'une autre catégorie n'est pas compté",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the impact report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Banque Solidaire") {
		t.Error("another donor's name in the report")
	}
	n.http.Do("GET", fmt.Sprintf("/api/v1/reports/donors/%d/impact.pdf", n.org("donor")), n.net.Tokens["run"], nil).ExpectProblem(t, 403)
	n.http.Do("GET", fmt.Sprintf("/api/v1/reports/donors/%d/impact.pdf", n.org("run")), n.net.Tokens["admin"], nil).ExpectProblem(t, 404)
	n.http.Do("GET", "/api/v1/reports/donors/abc/impact.pdf", n.net.Tokens["admin"], nil).ExpectProblem(t, 404)

	// Factors come from configuration, and none without its source.
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`[{"category": "tablet", "kg_co2e_per_year": 10, "kg_materials_per_year": 20, "source": "Étude X, 2025"}]`), 0o600)
	if fs, err := reports.LoadFactors(good); err != nil || len(fs) != 1 || fs[0].Source != "Étude X, 2025" {
		t.Errorf("factors %v %v", fs, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"category": "tablet", "kg_co2e_per_year": 10}]`), 0o600)
	if _, err := reports.LoadFactors(bad); err == nil {
		t.Error("a factor without a source was taken")
	}
}

func (n *network) donationOf(device int64) int64 {
	var id int64
	n.db.Raw(`SELECT donation_id FROM devices WHERE id = ?`, device).Scan(&id)
	return id
}
