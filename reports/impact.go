package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// Factor is what one reused device of a category spares, per year of use
// instead of a new one, with where the figure comes from: no factor is
// printed without its source.
type Factor struct {
	Category        string  `json:"category"`
	KgCO2ePerYear   float64 `json:"kg_co2e_per_year"`
	KgMaterialsYear float64 `json:"kg_materials_per_year"`
	Source          string  `json:"source"`
	URL             string  `json:"url"`
}

// ademe2022 is the study the default factors come from.
const ademe2022 = "ADEME, « Évaluation de l'impact environnemental d'un ensemble de produits reconditionnés », septembre 2022 " +
	"(un appareil reconditionné acheté à la place d'un neuf, par année d'utilisation)"

// DefaultFactors are published figures for the categories that have one;
// tablets, desktops and the others are not estimated until a source is
// configured for them (TREMPLIN_IMPACT_FACTORS).
var DefaultFactors = []Factor{
	{Category: "smartphone", KgCO2ePerYear: 24.6, KgMaterialsYear: 76.9, Source: ademe2022,
		URL: "librairie.ademe.fr"},
	{Category: "laptop", KgCO2ePerYear: 27, KgMaterialsYear: 127, Source: ademe2022,
		URL: "librairie.ademe.fr"},
}

// LoadFactors reads factors from a JSON file (a list of Factor); an empty
// path gives DefaultFactors. A factor without a source is refused.
func LoadFactors(path string) ([]Factor, error) {
	if path == "" {
		return DefaultFactors, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("impact factors: %w", err)
	}
	var fs []Factor
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("impact factors %s: %w", path, err)
	}
	for i, f := range fs {
		if strings.TrimSpace(f.Category) == "" || strings.TrimSpace(f.Source) == "" || f.KgCO2ePerYear < 0 || f.KgMaterialsYear < 0 {
			return nil, fmt.Errorf("impact factors %s: factor %d needs a category, its source and figures of 0 or more", path, i+1)
		}
	}
	return fs, nil
}

// DonationImpact is what became of one donation's devices.
type DonationImpact struct {
	ID         int64
	ReceivedOn string
	Devices    int64
	Erased     int64
}

// Impact is what became of a donor's devices received over a period.
type Impact struct {
	Donor    partners.Organization
	From, To string
	Given    int64
	Reused   int64 // sold to someone, not refunded
	Recycled int64
	Erased   int64 // with a recorded, passed erasure
	// ErasedWithReport are the erasures the erasure tool's own report
	// proves; Locked the devices whose last check found a lock (kept
	// from sale until the donor releases them).
	ErasedWithReport int64
	Locked           int64
	InProgress       int64 // still being refurbished or on a shelf
	People           int64
	ByCategory       map[string]int64 // reused, by category
	Donations        []DonationImpact
	Factors          []Factor
	KgCO2e           float64 // spared over one year of use of the reused devices
	KgMaterials      float64
	Unestimated      int64 // reused devices of a category without a factor
}

// DonorImpact reads what became of the devices of the donor's donations
// received in [from, to] (admins only).
func (s *Service) DonorImpact(ctx context.Context, c partners.Caller, donorID int64, from, to string) (Impact, error) {
	if from == "" && to == "" { // since the start of the year
		loc, _ := zone.Load(partners.DefaultTimezone)
		from = s.now().In(loc).Format("2006") + "-01-01"
	}
	first, last, err := s.territoryPeriod(ctx, c, from, to)
	if err != nil {
		return Impact{}, err
	}
	db := s.DB.WithContext(ctx)
	out := Impact{From: first, To: last, ByCategory: map[string]int64{}, Factors: s.factors()}
	if err := db.Where("id = ? AND kind = ?", donorID, partners.KindDonor).Take(&out.Donor).Error; err != nil {
		return Impact{}, fmt.Errorf("donor %d: %w", donorID, apperr.ErrNotFound)
	}
	var rows []struct {
		DonationID int64
		ReceivedOn string
		Category   string
		State      string
		Erased     bool
		N          int64
	}
	if err := db.Raw(`SELECT dn.id AS donation_id, dn.received_on, d.category, d.state, d.erased_at IS NOT NULL AS erased, COUNT(*) AS n
		FROM devices d JOIN donations dn ON dn.id = d.donation_id
		WHERE dn.donor_id = ? AND dn.received_on >= ? AND dn.received_on <= ?
		GROUP BY dn.id, dn.received_on, d.category, d.state, d.erased_at IS NOT NULL ORDER BY dn.received_on, dn.id`, donorID, first, last).Scan(&rows).Error; err != nil {
		return Impact{}, fmt.Errorf("devices of donor %d: %w", donorID, err)
	}
	var proof struct{ Reports, Locked int64 }
	if err := db.Raw(`SELECT
			(SELECT COUNT(DISTINCT r.device_id) FROM erasure_reports r JOIN devices d ON d.id = r.device_id JOIN donations dn ON dn.id = d.donation_id
				WHERE dn.donor_id = ? AND dn.received_on >= ? AND dn.received_on <= ? AND r.result = 'passed') AS reports,
			(SELECT COUNT(*) FROM devices d JOIN donations dn ON dn.id = d.donation_id
				WHERE dn.donor_id = ? AND dn.received_on >= ? AND dn.received_on <= ? AND d.locks LIKE '%"locked"%') AS locked`,
		donorID, first, last, donorID, first, last).Scan(&proof).Error; err != nil {
		return Impact{}, fmt.Errorf("erasure reports and locks of donor %d: %w", donorID, err)
	}
	out.ErasedWithReport, out.Locked = proof.Reports, proof.Locked
	for _, r := range rows {
		if len(out.Donations) == 0 || out.Donations[len(out.Donations)-1].ID != r.DonationID {
			out.Donations = append(out.Donations, DonationImpact{ID: r.DonationID, ReceivedOn: r.ReceivedOn})
		}
		d := &out.Donations[len(out.Donations)-1]
		d.Devices += r.N
		out.Given += r.N
		if r.Erased {
			d.Erased += r.N
			out.Erased += r.N
		}
		switch r.State {
		case "sold":
			out.Reused += r.N
			out.ByCategory[r.Category] += r.N
		case "recycled":
			out.Recycled += r.N
		case "lost":
		default:
			out.InProgress += r.N
		}
	}
	if err := db.Raw(`SELECT COUNT(DISTINCT s.beneficiary_id) FROM sale_lines l JOIN sales s ON s.id = l.sale_id
		JOIN devices d ON d.id = l.device_id JOIN donations dn ON dn.id = d.donation_id
		WHERE l.refund_id IS NULL AND dn.donor_id = ? AND dn.received_on >= ? AND dn.received_on <= ?`, donorID, first, last).Scan(&out.People).Error; err != nil {
		return Impact{}, fmt.Errorf("people equipped: %w", err)
	}
	for cat, n := range out.ByCategory {
		i := slices.IndexFunc(out.Factors, func(f Factor) bool { return f.Category == cat })
		if i < 0 {
			out.Unestimated += n
			continue
		}
		out.KgCO2e += float64(n) * out.Factors[i].KgCO2ePerYear
		out.KgMaterials += float64(n) * out.Factors[i].KgMaterialsYear
	}
	return out, nil
}

func (s *Service) factors() []Factor {
	if s.Factors != nil {
		return s.Factors
	}
	return DefaultFactors
}

// kg writes a mass the French way, to the kilogram.
func kg(v float64) string {
	n := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, r := range n {
		if i > 0 && (len(n)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(r)
	}
	return b.String() + " kg"
}

// factor writes a published figure as published, to the tenth: 24,6 kg.
func factor(v float64) string {
	return strings.Replace(strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64), ".", ",", 1) + " kg"
}

// ImpactPDF prints the donor impact report, in French (documents are).
func ImpactPDF(im Impact, generated time.Time, categoryName func(string) string) ([]byte, error) {
	fr := i18n.French
	title := fr.T("Impact report — %s", im.Donor.Name)
	doc := pdfdraw.Report(title, title)
	day := fr.ISODate
	doc.Heading(16, title)
	doc.Lines(10, fr.T("Donations received from %s to %s. As of %s.", day(im.From), day(im.To), fr.Date(generated, nil)))
	doc.Ln(3)
	num := func(n int64) string { return strconv.FormatInt(n, 10) }
	col := func(title string, width float64) pdfdraw.Column {
		return pdfdraw.Column{Title: fr.T(title), Width: width}
	}
	t := doc.NewTable(10, col("What became of your devices", 130), col("Number", 40))
	for _, r := range []struct {
		what string
		n    int64
	}{
		{"Devices given", im.Given},
		{"Reused: sold at a solidarity price to a person referred by a social worker", im.Reused},
		{"Data erased (certified erasure passed)", im.Erased},
		{"    of which proved by the erasure tool's report", im.ErasedWithReport},
		{"Locked to an account or a device management, waiting to be released", im.Locked},
		{"Recycled (approved channel)", im.Recycled},
		{"Being refurbished or on the shelf", im.InProgress},
		{"People equipped", im.People},
	} {
		t.Row(0, fr.T(r.what), num(r.n))
	}
	doc.Ln(4)
	doc.Heading(12, fr.T("Data erasure"))
	if len(im.Donations) == 0 {
		doc.Lines(10, fr.T("No donation received over the period."))
	} else {
		t = doc.NewTable(9, col("Donation", 20), col("Received on", 25), col("Devices", 22), col("Erased", 20), col("Erasure certificate's reference", 93))
		for _, d := range im.Donations {
			t.Row(0, fr.T("no. %d", d.ID), day(d.ReceivedOn), num(d.Devices), num(d.Erased),
				fr.T("Certificate of donation no. %d (Tremplin: /dons/%d/certificat.pdf)", d.ID, d.ID))
		}
	}
	doc.Ln(4)
	doc.Heading(12, fr.T("Environmental estimate"))
	doc.Lines(9, fr.T("Each device reused avoids making a new one. The estimate counts one year of use per device, with the factors published below; a category without a published factor is not estimated."))
	t = doc.NewTable(8.5, col("Category", 28), col("Reused", 20), col("CO2e avoided / year", 24), col("Materials avoided / year", 28), col("Source", 80))
	for _, f := range im.Factors {
		n := im.ByCategory[f.Category]
		t.Row(0, categoryName(f.Category), num(n), kg(float64(n)*f.KgCO2ePerYear), kg(float64(n)*f.KgMaterialsYear),
			fr.T("%s — %s CO2e per device and per year, %s of materials. %s", f.Source, factor(f.KgCO2ePerYear), factor(f.KgMaterialsYear), f.URL))
	}
	doc.Ln(2)
	total := fr.T("In all: %s of CO2e and %s of raw materials avoided over one year of use.", kg(im.KgCO2e), kg(im.KgMaterials))
	if im.Unestimated > 0 {
		total += " " + fr.TN(im.Unestimated, "%d devices reused of other categories are not counted: no published factor is set for them.", im.Unestimated)
	}
	doc.Lines(10, total)
	return doc.Bytes()
}

// ImpactReport is the donor impact PDF and its file name, the categories
// named in l.
func (s *Service) ImpactReport(ctx context.Context, c partners.Caller, donorID int64, from, to string, l i18n.Lang) ([]byte, string, error) {
	im, err := s.DonorImpact(ctx, c, donorID, from, to)
	if err != nil {
		return nil, "", err
	}
	loc, _ := zone.Load(partners.DefaultTimezone)
	pdf, err := ImpactPDF(im, s.now().In(loc), func(cat string) string { return l.T("category." + cat) })
	if err != nil {
		return nil, "", fmt.Errorf("impact report: %w", err)
	}
	return pdf, fmt.Sprintf("tremplin-impact-%d-%s-%s.pdf", donorID, im.From, im.To), nil
}
