package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// certRow is one erasure attempt of a device, or its recycling.
type certRow struct {
	Tag      string
	Category Category
	Brand    string
	Model    string
	Serial   *string
	IMEI     *string
	Action   string
	At       time.Time
	Data     string
	UserName string
}

type certData struct {
	Method   string `json:"method"`
	Result   string `json:"result"`
	Reason   string `json:"reason"`
	Recycler string `json:"recycler"`
}

// ErasureCertificate renders the document a donor files as proof: every device
// of the donation with its serial or IMEI and each erasure (method, result,
// date, operator), the devices recycled instead, and those still waiting. It
// carries a document id derived from its contents and the generation date.
func (s *Service) ErasureCertificate(ctx context.Context, c partners.Caller, donationID int64) ([]byte, error) {
	d, err := s.donationFor(ctx, c, donationID)
	if err != nil {
		return nil, err
	}
	view, err := s.donationView(ctx, d)
	if err != nil {
		return nil, err
	}
	var rows []certRow
	err = s.db.WithContext(ctx).Table("device_events e").
		Select("d.tag, d.category, d.brand, d.model, d.serial, d.imei, e.action, e.at, e.data, COALESCE(u.name, '') AS user_name").
		Joins("JOIN devices d ON d.id = e.device_id").
		Joins("LEFT JOIN users u ON u.id = e.user_id").
		Where("d.donation_id = ? AND e.action IN ('erase', 'recycle')", d.ID).
		Order("d.tag, e.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("erasures of donation %d: %w", d.ID, err)
	}
	var pending []Device
	err = s.db.WithContext(ctx).Where("donation_id = ? AND erased_at IS NULL AND state NOT IN ?", d.ID, []State{Recycled, Lost}).
		Order("tag").Find(&pending).Error
	if err != nil {
		return nil, fmt.Errorf("devices waiting for erasure: %w", err)
	}

	generated := s.now()
	loc := time.UTC
	if wh, err := s.partners.Site(ctx, d.WarehouseID); err == nil {
		loc = wh.Location()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d|%s|", d.ID, generated.Format(time.RFC3339Nano))
	for _, r := range rows {
		fmt.Fprintf(h, "%s|%s|%s|%s|", r.Tag, r.Action, r.At.Format(time.RFC3339Nano), r.Data)
	}
	docID := fmt.Sprintf("CERT-%d-%s", d.ID, strings.ToUpper(hex.EncodeToString(h.Sum(nil))[:10]))

	doc := pdfdraw.A4()
	doc.SetTitle("Certificat d'effacement des données "+docID, true)
	doc.SetAutoPageBreak(true, 15)
	doc.SetMargins(15, 15, 15)
	doc.SetFooterFunc(func() {
		doc.SetY(-10)
		doc.SetFont(pdfdraw.Regular, "", 8)
		doc.CellFormat(0, 5, pdfdraw.Clean(fmt.Sprintf("%s — page %d/{nb}", docID, doc.PageNo())), "", 0, "R", false, 0, "")
	})
	doc.AliasNbPages("{nb}")
	doc.AddPage()
	doc.SetFont(pdfdraw.Regular, "B", 16)
	doc.CellFormat(0, 9, "Certificat d'effacement des données", "", 1, "L", false, 0, "")
	doc.SetFont(pdfdraw.Regular, "", 10)
	for _, line := range []string{
		"Document n° " + docID,
		"Généré le " + generated.In(loc).Format("02/01/2006 à 15:04") + " (" + loc.String() + ")",
		fmt.Sprintf("Don n° %d reçu le %s à %s", d.ID, frenchDate(d.ReceivedOn), view.Warehouse),
		"Donateur : " + view.Donor,
		fmt.Sprintf("Appareils du don : %d", view.TotalDevices),
	} {
		doc.CellFormat(0, 5.5, pdfdraw.Clean(line), "", 1, "L", false, 0, "")
	}
	doc.Ln(3)

	cols := []struct {
		title string
		w     float64
	}{{"Étiquette", 20}, {"Appareil", 36}, {"N° de série / IMEI", 34}, {"Méthode", 32}, {"Résultat", 14}, {"Date", 17}, {"Opérateur", 27}}
	header := func(title string) {
		doc.SetFont(pdfdraw.Regular, "B", 11)
		doc.CellFormat(0, 7, title, "", 1, "L", false, 0, "")
		doc.SetFont(pdfdraw.Regular, "B", 7.5)
		doc.SetFillColor(230, 230, 230)
		for _, c := range cols {
			doc.CellFormat(c.w, 6, c.title, "1", 0, "L", true, 0, "")
		}
		doc.Ln(-1)
		doc.SetFont(pdfdraw.Regular, "", 7.5)
	}
	cell := func(i int, s string) {
		doc.CellFormat(cols[i].w, 5.5, doc.Fit(s, cols[i].w-1.5), "1", 0, "L", false, 0, "")
	}
	header("Effacements")
	erasures, recycled := 0, 0
	for _, r := range rows {
		if r.Action != "erase" {
			continue
		}
		erasures++
		var cd certData
		_ = json.Unmarshal([]byte(r.Data), &cd)
		cell(0, r.Tag)
		cell(1, r.Brand+" "+r.Model)
		cell(2, identifier(r.Serial, r.IMEI))
		cell(3, cd.Method)
		cell(4, map[string]string{"passed": "réussi", "failed": "échoué"}[cd.Result])
		cell(5, r.At.In(loc).Format("02/01/2006"))
		cell(6, r.UserName)
		doc.Ln(-1)
	}
	if erasures == 0 {
		doc.CellFormat(0, 6, "Aucun effacement enregistré pour l'instant.", "", 1, "L", false, 0, "")
	}
	doc.Ln(3)
	doc.SetFont(pdfdraw.Regular, "B", 11)
	doc.CellFormat(0, 7, "Appareils recyclés (non réemployés)", "", 1, "L", false, 0, "")
	doc.SetFont(pdfdraw.Regular, "", 8)
	for _, r := range rows {
		if r.Action != "recycle" {
			continue
		}
		recycled++
		var cd certData
		_ = json.Unmarshal([]byte(r.Data), &cd)
		line := fmt.Sprintf("%s — %s %s — %s — recyclé le %s : %s", r.Tag, r.Brand, r.Model, identifier(r.Serial, r.IMEI),
			r.At.In(loc).Format("02/01/2006"), cd.Reason)
		if cd.Recycler != "" {
			line += " (recycleur : " + cd.Recycler + ")"
		}
		doc.MultiCell(0, 4.5, pdfdraw.Clean(line), "", "L", false)
	}
	if recycled == 0 {
		doc.CellFormat(0, 6, "Aucun.", "", 1, "L", false, 0, "")
	}
	doc.Ln(3)
	doc.SetFont(pdfdraw.Regular, "B", 11)
	doc.CellFormat(0, 7, "Appareils en attente d'effacement", "", 1, "L", false, 0, "")
	doc.SetFont(pdfdraw.Regular, "", 8)
	for _, p := range pending {
		doc.CellFormat(0, 4.5, pdfdraw.Clean(fmt.Sprintf("%s — %s %s — %s", p.Tag, p.Brand, p.Model, identifier(p.Serial, p.IMEI))), "", 1, "L", false, 0, "")
	}
	if len(pending) == 0 {
		doc.CellFormat(0, 6, "Aucun : tous les appareils du don ont été effacés ou recyclés.", "", 1, "L", false, 0, "")
	}
	b, err := doc.Bytes()
	if err != nil {
		return nil, err
	}
	err = audit.Record(ctx, s.db.WithContext(ctx), "donation.erasure_certificate", "donation", d.ID, map[string]any{"document": docID})
	return b, err
}

func identifier(serial, imei *string) string {
	var parts []string
	if imei != nil {
		parts = append(parts, "IMEI "+*imei)
	}
	if serial != nil {
		parts = append(parts, *serial)
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " / ")
}

func frenchDate(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return t.Format("02/01/2006")
}
