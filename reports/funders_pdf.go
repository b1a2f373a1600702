package reports

import (
	"fmt"
	"strconv"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
)

// FundersPDF prints the funder report: the period, then people served per
// département and per prescriber organisation.
func FundersPDF(f Funders, network string) ([]byte, error) {
	title := fmt.Sprintf("Personnes accompagnées du %s au %s", i18n.French.ISODate(f.From), i18n.French.ISODate(f.To))
	doc := pdfdraw.Report(title, "Tremplin — "+title)
	doc.Heading(16, title)
	doc.Lines(10, network,
		fmt.Sprintf("%d personnes équipées, %d appareils, %d recharges, %d accessoires. Une personne compte une fois par ligne, même si elle a acheté plusieurs fois.",
			f.Total.People, f.Total.Devices, f.Total.Recharges, f.Total.Accessories))
	doc.Ln(4)
	num := func(n int64) string { return strconv.FormatInt(n, 10) }
	doc.Heading(12, "Par département")
	t := doc.NewTable(10, pdfdraw.Column{Title: "Département", Width: 54}, pdfdraw.Column{Title: "Personnes", Width: 32},
		pdfdraw.Column{Title: "Appareils", Width: 32}, pdfdraw.Column{Title: "Recharges", Width: 32}, pdfdraw.Column{Title: "Accessoires", Width: 32})
	for _, l := range f.Departements {
		t.Row(0, l.Departement, num(l.People), num(l.Devices), num(l.Recharges), num(l.Accessories))
	}
	doc.Ln(4)
	doc.Heading(12, "Par prescripteur")
	t = doc.NewTable(10, pdfdraw.Column{Title: "Organisation", Width: 54}, pdfdraw.Column{Title: "Personnes", Width: 32},
		pdfdraw.Column{Title: "Appareils", Width: 32}, pdfdraw.Column{Title: "Recharges", Width: 32}, pdfdraw.Column{Title: "Accessoires", Width: 32})
	for _, l := range f.Prescribers {
		t.Row(0, l.Name, num(l.People), num(l.Devices), num(l.Recharges), num(l.Accessories))
	}
	return doc.Bytes()
}
