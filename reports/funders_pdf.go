package reports

import (
	"strconv"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
)

// FundersPDF prints the funder report: the period, then people served per
// département and per prescriber organisation.
func FundersPDF(f Funders, network string) ([]byte, error) {
	fr := i18n.French // a report for funders in France, whatever the page's language
	title := fr.T("People helped from %s to %s", fr.ISODate(f.From), fr.ISODate(f.To))
	doc := pdfdraw.Report(title, "Tremplin — "+title)
	doc.Heading(16, title)
	doc.Lines(10, network, fr.T("%s, %s, %s, %s. A person counts once per line, even if they bought several times.",
		fr.TN(f.Total.People, "%d people equipped", f.Total.People), fr.TN(f.Total.Devices, "%d devices", f.Total.Devices),
		fr.TN(f.Total.Recharges, "%d recharges", f.Total.Recharges), fr.TN(f.Total.Accessories, "%d accessories", f.Total.Accessories)))
	doc.Ln(4)
	num := func(n int64) string { return strconv.FormatInt(n, 10) }
	columns := func(first string) []pdfdraw.Column {
		return []pdfdraw.Column{{Title: fr.T(first), Width: 54}, {Title: fr.T("People"), Width: 32},
			{Title: fr.T("Devices"), Width: 32}, {Title: fr.T("Recharges"), Width: 32}, {Title: fr.T("Accessories"), Width: 32}}
	}
	doc.Heading(12, fr.T("By department"))
	t := doc.NewTable(10, columns("Department")...)
	for _, l := range f.Departements {
		t.Row(0, l.Departement, num(l.People), num(l.Devices), num(l.Recharges), num(l.Accessories))
	}
	doc.Ln(4)
	doc.Heading(12, fr.T("By prescriber"))
	t = doc.NewTable(10, columns("Prescribing organisation")...)
	for _, l := range f.Prescribers {
		t.Row(0, l.Name, num(l.People), num(l.Devices), num(l.Recharges), num(l.Accessories))
	}
	return doc.Bytes()
}
