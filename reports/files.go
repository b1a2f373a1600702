package reports

import (
	"bytes"
	"context"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/partners"
)

// File is a report ready to download: the API and the admin's pages serve
// the same bytes under the same name.
type File struct {
	Name        string
	ContentType string
	Body        []byte
}

// FundersFile renders the funder report of a period as "csv" or "pdf".
func (s *Service) FundersFile(ctx context.Context, c partners.Caller, from, to, format string) (File, error) {
	f, err := s.FunderReport(ctx, c, from, to)
	if err != nil {
		return File{}, err
	}
	name := "tremplin-financeurs-" + f.From + "-" + f.To
	if format == "pdf" {
		pdf, err := FundersPDF(f, i18n.French.T("Tremplin network")) // printed in French, as every document for partners
		if err != nil {
			return File{}, err
		}
		return File{Name: name + ".pdf", ContentType: "application/pdf", Body: pdf}, nil
	}
	var b bytes.Buffer
	if err := WriteFundersCSV(&b, f); err != nil {
		return File{}, err
	}
	return File{Name: name + ".csv", ContentType: "text/csv; charset=utf-8", Body: b.Bytes()}, nil
}

// OpenDataFile renders the open-data CSV of a period.
func (s *Service) OpenDataFile(ctx context.Context, c partners.Caller, from, to string) (File, error) {
	cells, first, last, err := s.OpenData(ctx, c, from, to)
	if err != nil {
		return File{}, err
	}
	var b bytes.Buffer
	if err := WriteOpenData(&b, cells); err != nil {
		return File{}, err
	}
	return File{Name: "tremplin-donnees-ouvertes-" + first + "-" + last + ".csv", ContentType: "text/csv; charset=utf-8", Body: b.Bytes()}, nil
}
