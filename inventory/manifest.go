package inventory

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
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
	cards, err := s.recharges.Shipped(s.db.WithContext(ctx), view.ID)
	if err != nil {
		return nil, err
	}
	loc := from.Location()
	number := fmt.Sprintf("T-%06d", view.ID)
	fr := i18n.French // a delivery note is French whatever the page's language
	title := fr.T("Delivery note %s", number)
	doc := pdfdraw.Report(title, title)
	doc.SetFont(pdfdraw.Regular, "B", 16)
	doc.CellFormat(120, 9, title, "", 0, "L", false, 0, "")
	if _, err := doc.Code128(135, 14, 60, 12, number, 300); err != nil {
		return nil, err
	}
	doc.Ln(12)
	lines := []string{
		fr.T("From: %s", from.Name+addr(from.Address)),
		fr.T("To: %s", to.Name+addr(to.Address)),
		fr.T("Status: %s", fr.T("transfer."+view.Status)),
		fr.T("Created on %s", fr.DateTime(view.CreatedAt, loc)),
	}
	if view.ShippedAt != nil {
		lines = append(lines, fr.T("Shipped on %s", fr.DateTime(*view.ShippedAt, loc)))
	}
	if view.Note != "" {
		lines = append(lines, fr.T("Note: %s", view.Note))
	}
	units := 0
	for _, l := range view.Recharges {
		units += l.Quantity
	}
	lines = append(lines, fr.T("Devices: %d · Recharges: %d", len(view.Devices), units))
	doc.Lines(10, lines...)
	if view.Status == TransferDraft {
		// A draft's note is a preview: it must not travel with the goods.
		doc.SetFont(pdfdraw.Regular, "B", 13)
		doc.Lines(13, fr.T("DRAFT: a preview, not the delivery note. Ship the transfer, then print this note: it will list the recharges chosen when shipping."))
	}
	doc.Ln(4)

	// A box 7 mm wide, to tick with a pen.
	tick := func(t *pdfdraw.Table, col int, top, h float64, done bool) {
		x := t.X(col) + 6.5
		y := top + (h-7)/2
		doc.Rect(x, y, 7, 7, "D")
		if done {
			doc.Line(x+1.5, y+1.5, x+5.5, y+5.5)
			doc.Line(x+5.5, y+1.5, x+1.5, y+5.5)
		}
	}
	if len(view.Devices) > 0 {
		doc.Heading(11, fr.T("Devices"))
		table := doc.NewTable(8, pdfdraw.Column{Title: fr.T("Tag"), Width: 28}, pdfdraw.Column{Title: fr.T("Device"), Width: 62},
			pdfdraw.Column{Title: fr.T("Barcode"), Width: 70}, pdfdraw.Column{Title: fr.T("Arrived"), Width: 20})
		for _, it := range view.Devices {
			top, h := table.Row(16, it.Tag, it.Brand+" "+it.Model)
			if _, err := doc.Code128(table.X(2), top+2, 70, h-4, it.Tag, 300); err != nil {
				return nil, err
			}
			tick(table, 3, top, h, it.Received)
		}
		doc.Ln(4)
	}
	if len(view.Recharges) > 0 {
		doc.Heading(11, fr.T("Recharges"))
		table := doc.NewTable(8, pdfdraw.Column{Title: fr.T("Product"), Width: 70}, pdfdraw.Column{Title: fr.T("Quantity"), Width: 20},
			pdfdraw.Column{Title: fr.T("Serial numbers"), Width: 70}, pdfdraw.Column{Title: fr.T("Arrived"), Width: 20})
		shipped := map[int64]recharges.ShippedLine{}
		for _, c := range cards {
			shipped[c.ProductID] = c
		}
		for _, l := range view.Recharges {
			c := shipped[l.ProductID]
			name, serials := c.ProductName, fr.T("chosen when shipping")
			if name == "" {
				if p, err := s.recharges.FindProduct(ctx, l.ProductID); err == nil {
					name = p.Name
				}
			}
			if c.Quantity > 0 {
				serials = c.FirstSerial + " → " + c.LastSerial
			}
			top, h := table.Row(10, name, fmt.Sprint(l.Quantity), serials)
			tick(table, 3, top, h, view.Status == TransferReceived)
		}
	}
	doc.Ln(8)
	doc.SetFont(pdfdraw.Regular, "", 10)
	doc.CellFormat(90, 6, fr.T("Handed over by (name, signature):"), "", 0, "L", false, 0, "")
	doc.CellFormat(0, 6, fr.T("Received by (name, signature, date):"), "", 1, "L", false, 0, "")
	doc.Ln(18)
	doc.SetFont(pdfdraw.Regular, "", 7)
	doc.CellFormat(0, 4, fr.T("Made on %s by Tremplin.", fr.DateTime(s.now(), loc)), "", 1, "L", false, 0, "")
	return doc.Bytes()
}

func addr(a string) string {
	if a == "" {
		return ""
	}
	return ", " + a
}
