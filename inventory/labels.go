package inventory

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// LabelLayout is a label stock: a roll (one label a page) or a sheet.
type LabelLayout struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Media       string  `json:"media"` // "roll" or "A4"
	WidthMM     float64 `json:"width_mm"`
	HeightMM    float64 `json:"height_mm"`
	Columns     int     `json:"columns"`
	Rows        int     `json:"rows"`
	DPI         int     `json:"dpi"`
	// Sheet geometry: the top-left label's corner and the pitch between labels.
	LeftMM   float64 `json:"-"`
	TopMM    float64 `json:"-"`
	PitchXMM float64 `json:"-"`
	PitchYMM float64 `json:"-"`
}

// PerPage is how many labels one page holds.
func (l LabelLayout) PerPage() int { return l.Columns * l.Rows }

// LabelLayouts are the stocks Tremplin prints on. DPI is the printer's dot
// grid that barcode modules snap to (300 for Brother QL and Dymo LabelWriter
// 450 Turbo; A4 sheets go through office lasers at 600, a multiple of 300).
var LabelLayouts = []LabelLayout{
	{Name: "brother-62x29", Description: "Brother QL, rouleau DK-11209, 62 × 29 mm", Media: "roll", WidthMM: 62, HeightMM: 29, Columns: 1, Rows: 1, DPI: 300},
	{Name: "dymo-54x25", Description: "Dymo LabelWriter, rouleau 11352, 54 × 25 mm", Media: "roll", WidthMM: 54, HeightMM: 25, Columns: 1, Rows: 1, DPI: 300},
	{Name: "a4-3x8", Description: "Planche A4, 3 × 8 étiquettes de 70 × 37 mm", Media: "A4", WidthMM: 70, HeightMM: 37, Columns: 3, Rows: 8, DPI: 300,
		LeftMM: 0, TopMM: 0.5, PitchXMM: 70, PitchYMM: 37},
	{Name: "a4-avery-l7163", Description: "Avery L7163, planche A4 de 2 × 7 étiquettes de 99,1 × 38,1 mm", Media: "A4", WidthMM: 99.1, HeightMM: 38.1, Columns: 2, Rows: 7, DPI: 300,
		LeftMM: 4.65, TopMM: 15.15, PitchXMM: 101.6, PitchYMM: 38.1},
}

// LayoutByName finds a layout.
func LayoutByName(name string) (LabelLayout, error) {
	for _, l := range LabelLayouts {
		if l.Name == name {
			return l, nil
		}
	}
	names := make([]string, len(LabelLayouts))
	for i, l := range LabelLayouts {
		names[i] = l.Name
	}
	return LabelLayout{}, apperr.Invalid("layout", "%q is not a layout; use one of %s", name, strings.Join(names, ", "))
}

// LabelRequest asks for the labels of some devices.
type LabelRequest struct {
	DeviceIDs []int64 `json:"device_ids"`
	Layout    string  `json:"layout"`
	Offset    int     `json:"offset"`
	QR        bool    `json:"qr"`
}

// maxLabels bounds one print job.
const maxLabels = 5000

// Labels renders the labels of the devices, in the order given (a device
// listed twice gets two labels). Offset skips the used positions of a partly
// used sheet.
func (s *Service) Labels(ctx context.Context, c partners.Caller, req LabelRequest) ([]byte, error) {
	if err := c.Require(staffRoles...); err != nil {
		return nil, err
	}
	if req.Layout == "" {
		req.Layout = "brother-62x29"
	}
	layout, err := LayoutByName(req.Layout)
	if err != nil {
		return nil, err
	}
	v := &apperr.ValidationError{}
	switch n := len(req.DeviceIDs); {
	case n == 0:
		v.Field("device_ids", "give at least one device id")
	case n > maxLabels:
		v.Field("device_ids", "at most %d labels per request", maxLabels)
	}
	if req.Offset < 0 || req.Offset >= layout.PerPage() {
		if layout.PerPage() == 1 {
			v.Field("offset", "a roll has no used positions to skip: leave offset at 0")
		} else {
			v.Field("offset", "must be between 0 and %d (positions already used on the sheet)", layout.PerPage()-1)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	devices, err := s.visibleByIDs(s.db.WithContext(ctx), c, req.DeviceIDs)
	if err != nil {
		return nil, err
	}
	return RenderLabels(layout, devices, req.Offset, req.QR)
}

// visibleByIDs loads devices in the order of ids; an id the caller cannot see
// is reported with every other one.
func (s *Service) visibleByIDs(db *gorm.DB, c partners.Caller, ids []int64) ([]Device, error) {
	byID := map[int64]Device{}
	unique := make([]int64, 0, len(ids))
	for _, id := range ids {
		if _, seen := byID[id]; !seen {
			byID[id] = Device{}
			unique = append(unique, id)
		}
	}
	for start := 0; start < len(unique); start += batchSize {
		var found []Device
		chunk := unique[start:min(start+batchSize, len(unique))]
		if err := db.Session(&gorm.Session{}).Scopes(visibleDevices(c)).Where("devices.id IN ?", chunk).Find(&found).Error; err != nil {
			return nil, fmt.Errorf("load devices: %w", err)
		}
		for _, d := range found {
			byID[d.ID] = d
		}
	}
	v := &apperr.ValidationError{}
	out := make([]Device, 0, len(ids))
	for _, id := range ids {
		d := byID[id]
		if d.ID == 0 {
			v.Field("device_ids", "no device %d (or not visible to you)", id)
			byID[id] = Device{ID: -1}
			continue
		}
		if d.ID > 0 {
			out = append(out, d)
		}
	}
	return out, v.Err()
}

// RenderLabels draws one label per device on the layout.
func RenderLabels(layout LabelLayout, devices []Device, offset int, withQR bool) ([]byte, error) {
	var doc *pdfdraw.Doc
	if layout.Media == "roll" {
		doc = pdfdraw.New(layout.WidthMM, layout.HeightMM)
	} else {
		doc = pdfdraw.A4()
	}
	doc.SetTitle("Étiquettes Tremplin", true)
	per := layout.PerPage()
	for i, d := range devices {
		pos := (offset + i) % per
		if i == 0 || pos == 0 {
			doc.AddPage()
		}
		x, y := 0.0, 0.0
		if layout.Media != "roll" {
			x = layout.LeftMM + float64(pos%layout.Columns)*layout.PitchXMM
			y = layout.TopMM + float64(pos/layout.Columns)*layout.PitchYMM
		}
		if err := drawLabel(doc, layout, x, y, d, withQR); err != nil {
			return nil, fmt.Errorf("label of %s: %w", d.Tag, err)
		}
	}
	return doc.Bytes()
}

// drawLabel lays out one label: the tag, its Code 128, brand and model, then
// grade and price, with an optional QR on the right.
func drawLabel(doc *pdfdraw.Doc, l LabelLayout, x, y float64, d Device, withQR bool) error {
	pad := 2.0
	if l.HeightMM < 30 {
		pad = 1.5
	}
	w, h := l.WidthMM-2*pad, l.HeightMM-2*pad
	x, y = x+pad, y+pad
	textW := w
	if withQR {
		side := min(h, w*0.34) // the barcode and the price need the room more
		if err := doc.QR(x+w-side, y+(h-side)/2, side, d.Tag); err != nil {
			return err
		}
		textW = w - side - 1
	}
	doc.SetTextColor(0, 0, 0)
	tagSize := h * 0.16 / 0.3528 // font size in points from a height in mm
	doc.SetFont(pdfdraw.Mono, "B", tagSize)
	doc.TextAt(x+1, y+h*0.16, d.Tag)

	barTop, barH := y+h*0.22, h*0.42
	if _, err := doc.Code128(x, barTop, textW, barH, d.Tag, float64(l.DPI)); err != nil {
		return err
	}
	small := h * 0.13 / 0.3528
	doc.SetFont(pdfdraw.Regular, "", small)
	doc.TextAt(x+1, y+h*0.80, doc.Fit(d.Brand+" "+d.Model, textW-1))
	line := "Grade " + deref(d.Grade, "–")
	if d.PriceCents != nil {
		line += " · " + money.EUR(*d.PriceCents)
	}
	// The price is what people read: shrink it to fit rather than cut it.
	size := small
	doc.SetFont(pdfdraw.Regular, "B", size)
	for doc.GetStringWidth(line) > textW-1 && size > small*0.6 {
		size *= 0.95
		doc.SetFont(pdfdraw.Regular, "B", size)
	}
	doc.TextAt(x+1, y+h, doc.Fit(line, textW-1))
	return nil
}

func deref(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}
