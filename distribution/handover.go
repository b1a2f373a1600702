package distribution

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// Handover is how the person took the device: a signature drawn on the
// screen (a PNG, base64, a data: URL accepted), or signed on paper.
type Handover struct {
	SignaturePNG string `json:"signature_png,omitempty"`
	OnPaper      bool   `json:"on_paper,omitempty"`
	// png is the signature decoded by check.
	png []byte
}

// Bounds of a signature: a finger's scribble on a phone is a few kB.
const (
	maxSignatureBytes = 300 << 10
	maxSignatureSide  = 2000
)

// check decodes and bounds the handover: a PNG that decodes, of a sane
// size, or on paper — not both, not neither.
func (h *Handover) check(v *apperr.ValidationError) {
	raw := strings.TrimSpace(h.SignaturePNG)
	raw = strings.TrimPrefix(raw, "data:image/png;base64,")
	switch {
	case raw == "" && !h.OnPaper:
		v.Field("handover", "give signature_png (the signature drawn) or on_paper (signed on paper)")
		return
	case raw != "" && h.OnPaper:
		v.Field("handover", "a signature drawn or on paper, not both")
		return
	case raw == "":
		return
	}
	if base64.StdEncoding.DecodedLen(len(raw)) > maxSignatureBytes {
		v.Field("handover.signature_png", "a signature is at most %d kB", maxSignatureBytes>>10)
		return
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		v.Field("handover.signature_png", "must be a PNG image in base64")
		return
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width < 20 || cfg.Height < 10 || cfg.Width > maxSignatureSide || cfg.Height > maxSignatureSide {
		v.Field("handover.signature_png", "must be a PNG image from 20×10 to %d×%d pixels", maxSignatureSide, maxSignatureSide)
		return
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		v.Field("handover.signature_png", "must be a PNG image in base64")
		return
	}
	h.png = b
}

// saleHandover is a sale's handover as kept.
type saleHandover struct {
	SaleID       int64
	Conditions   string
	OnPaper      bool
	SignaturePNG []byte
}

func (saleHandover) TableName() string { return "sale_handovers" }

// handoverOf reads a sale's handover; found false without one.
func handoverOf(db *gorm.DB, saleID int64) (saleHandover, bool, error) {
	var h saleHandover
	res := db.Where("sale_id = ?", saleID).Limit(1).Find(&h)
	if res.Error != nil {
		return h, false, fmt.Errorf("handover of sale %d: %w", saleID, res.Error)
	}
	return h, res.RowsAffected == 1, nil
}

// HandoverPNG is the signature of a sale, for its site and admins; 404
// when the sale has none (on paper, or erased with the person).
func (s *Service) HandoverPNG(ctx context.Context, c partners.Caller, saleID int64) ([]byte, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.saleFor(db, c, saleID); err != nil {
		return nil, err
	}
	h, ok, err := handoverOf(db, saleID)
	if err != nil {
		return nil, err
	}
	if !ok || len(h.SignaturePNG) == 0 {
		return nil, fmt.Errorf("signature of sale %d: %w", saleID, apperr.ErrNotFound)
	}
	return h.SignaturePNG, nil
}
