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

	doc := pdfdraw.Report("Certificat d'effacement des données "+docID, docID)
	doc.Heading(16, "Certificat d'effacement des données")
	doc.Lines(10,
		"Document n° "+docID,
		"Généré le "+generated.In(loc).Format("02/01/2006 à 15:04")+" ("+loc.String()+")",
		fmt.Sprintf("Don n° %d reçu le %s à %s", d.ID, frenchDate(d.ReceivedOn), view.Warehouse),
		"Donateur : "+view.Donor,
		fmt.Sprintf("Appareils du don : %d", view.TotalDevices))
	doc.Ln(3)
	doc.Heading(11, "Effacements")
	table := doc.NewTable(7.5, pdfdraw.Column{Title: "Étiquette", Width: 20}, pdfdraw.Column{Title: "Appareil", Width: 36},
		pdfdraw.Column{Title: "N° de série / IMEI", Width: 34}, pdfdraw.Column{Title: "Méthode", Width: 32}, pdfdraw.Column{Title: "Résultat", Width: 14},
		pdfdraw.Column{Title: "Date", Width: 17}, pdfdraw.Column{Title: "Opérateur", Width: 27})
	erasures, recycled := 0, 0
	for _, r := range rows {
		if r.Action != "erase" {
			continue
		}
		erasures++
		var cd certData
		_ = json.Unmarshal([]byte(r.Data), &cd)
		table.Row(0, r.Tag, r.Brand+" "+r.Model, identifier(r.Serial, r.IMEI), cd.Method,
			map[string]string{"passed": "réussi", "failed": "échoué"}[cd.Result], r.At.In(loc).Format("02/01/2006"), r.UserName)
	}
	if erasures == 0 {
		doc.Lines(10, "Aucun effacement enregistré pour l'instant.")
	}
	doc.Ln(3)
	doc.Heading(11, "Appareils recyclés (non réemployés)")
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
		doc.Lines(8, line)
	}
	if recycled == 0 {
		doc.Lines(10, "Aucun.")
	}
	doc.Ln(3)
	doc.Heading(11, "Appareils en attente d'effacement")
	for _, p := range pending {
		doc.Lines(8, fmt.Sprintf("%s — %s %s — %s", p.Tag, p.Brand, p.Model, identifier(p.Serial, p.IMEI)))
	}
	if len(pending) == 0 {
		doc.Lines(10, "Aucun : tous les appareils du don ont été effacés ou recyclés.")
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
