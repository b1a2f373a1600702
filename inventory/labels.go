package inventory

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

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
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	if req.Layout == "" {
		req.Layout = "brother-62x29"
	}
	layout, err := pdfdraw.LayoutByName(req.Layout)
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
func RenderLabels(layout pdfdraw.LabelLayout, devices []Device, offset int, withQR bool) ([]byte, error) {
	return pdfdraw.LabelSheet(layout, len(devices), offset, func(doc *pdfdraw.Doc, i int, x, y float64) error {
		if err := drawLabel(doc, layout, x, y, devices[i], withQR); err != nil {
			return fmt.Errorf("label of %s: %w", devices[i].Tag, err)
		}
		return nil
	})
}

// drawLabel lays out one label: the tag, its Code 128, brand and model, then
// grade and price, with an optional QR on the right.
func drawLabel(doc *pdfdraw.Doc, l pdfdraw.LabelLayout, x, y float64, d Device, withQR bool) error {
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
	// A label printed at intake, before diagnosis, has no grade nor price
	// to tell (« Grade – » read as a grade).
	var facts []string
	if g := deref(d.Grade, ""); g != "" {
		facts = append(facts, i18n.French.T("Grade %s", g)) // a label is French whatever the page's language
	}
	if d.PriceCents != nil {
		facts = append(facts, i18n.French.Money(*d.PriceCents))
	}
	line := pdfdraw.Clean(strings.Join(facts, " · ")) // measured as drawn
	if line == "" {
		return nil
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
