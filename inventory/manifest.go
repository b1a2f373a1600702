package inventory

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// Manifest renders the delivery note (bon de livraison) of a transfer: where
// from and to, and every item with its barcode so the receiving site can scan
// the note itself when a label is damaged.
func (s *Service) Manifest(ctx context.Context, c partners.Caller, id int64) ([]byte, error) {
	view, err := s.GetTransfer(ctx, c, id)
	if err != nil {
		return nil, err
	}
	from, err := s.partners.Site(ctx, view.FromSiteID)
	if err != nil {
		return nil, err
	}
	to, err := s.partners.Site(ctx, view.ToSiteID)
	if err != nil {
		return nil, err
	}
	loc := from.Location()
	doc := pdfdraw.A4()
	number := fmt.Sprintf("T-%06d", view.ID)
	doc.SetTitle("Bon de livraison "+number, true)
	doc.SetMargins(15, 15, 15)
	doc.SetAutoPageBreak(true, 15)
	doc.AliasNbPages("{nb}")
	doc.SetFooterFunc(func() {
		doc.SetY(-10)
		doc.SetFont(pdfdraw.Regular, "", 8)
		doc.CellFormat(0, 5, fmt.Sprintf("Bon de livraison %s — page %d/{nb}", number, doc.PageNo()), "", 0, "R", false, 0, "")
	})
	doc.AddPage()
	doc.SetFont(pdfdraw.Regular, "B", 16)
	doc.CellFormat(120, 9, "Bon de livraison "+number, "", 0, "L", false, 0, "")
	if _, err := doc.Code128(135, 14, 60, 12, number, 300); err != nil {
		return nil, err
	}
	doc.Ln(12)
	doc.SetFont(pdfdraw.Regular, "", 10)
	status := map[string]string{TransferDraft: "brouillon", TransferShipped: "expédié", TransferReceived: "reçu", TransferCancelled: "annulé"}[view.Status]
	lines := []string{
		"Expéditeur : " + from.Name + addr(from.Address),
		"Destinataire : " + to.Name + addr(to.Address),
		"Statut : " + status,
		"Créé le " + view.CreatedAt.In(loc).Format("02/01/2006 15:04"),
	}
	if view.ShippedAt != nil {
		lines = append(lines, "Expédié le "+view.ShippedAt.In(loc).Format("02/01/2006 15:04"))
	}
	if view.Note != "" {
		lines = append(lines, "Note : "+view.Note)
	}
	lines = append(lines, fmt.Sprintf("Appareils : %d", len(view.Devices)))
	for _, l := range lines {
		doc.MultiCell(0, 5.5, pdfdraw.Clean(l), "", "L", false)
	}
	doc.Ln(4)

	rowH := 16.0
	doc.SetFont(pdfdraw.Regular, "B", 8)
	doc.SetFillColor(230, 230, 230)
	for _, h := range []struct {
		t string
		w float64
	}{{"Étiquette", 28}, {"Appareil", 62}, {"Code-barres", 70}, {"Reçu", 20}} {
		doc.CellFormat(h.w, 6, h.t, "1", 0, "L", true, 0, "")
	}
	doc.Ln(-1)
	for _, it := range view.Devices {
		if doc.GetY()+rowH > 297-15 {
			doc.AddPage()
		}
		x, y := doc.GetX(), doc.GetY()
		doc.SetFont(pdfdraw.Mono, "B", 9)
		doc.CellFormat(28, rowH, it.Tag, "1", 0, "L", false, 0, "")
		doc.SetFont(pdfdraw.Regular, "", 8)
		doc.CellFormat(62, rowH, doc.Fit(it.Brand+" "+it.Model, 60), "1", 0, "L", false, 0, "")
		doc.CellFormat(70, rowH, "", "1", 0, "L", false, 0, "")
		if _, err := doc.Code128(x+90, y+2, 70, rowH-4, it.Tag, 300); err != nil {
			return nil, err
		}
		doc.CellFormat(20, rowH, map[bool]string{true: "oui", false: "☐"}[it.Received], "1", 1, "C", false, 0, "")
	}
	doc.Ln(8)
	doc.SetFont(pdfdraw.Regular, "", 10)
	doc.CellFormat(90, 6, "Remis par (nom, signature) :", "", 0, "L", false, 0, "")
	doc.CellFormat(0, 6, "Reçu par (nom, signature, date) :", "", 1, "L", false, 0, "")
	doc.Ln(18)
	doc.SetFont(pdfdraw.Regular, "", 7)
	doc.CellFormat(0, 4, "Généré le "+s.now().In(loc).Format("02/01/2006 15:04")+" par Tremplin.", "", 1, "L", false, 0, "")
	return doc.Bytes()
}

func addr(a string) string {
	if a == "" {
		return ""
	}
	return ", " + a
}
