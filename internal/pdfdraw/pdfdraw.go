// Package pdfdraw is the one place that draws PDFs: codeberg.org/go-pdf/fpdf
// (the maintained continuation of the archived jung-kurt/gofpdf, same API)
// with the embedded Go fonts (Latin with every French accent, Greek,
// Cyrillic), barcodes from boombuler/barcode drawn as vector rectangles
// snapped to the printer's dot grid, and text cleaned of characters the font
// cannot show. Keeping fpdf behind this package makes such a move one file.
package pdfdraw

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"
	"sync"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/qr"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// Font families registered in every document.
const (
	Regular = "go"
	Mono    = "gomono"
)

// QuietModules is the blank margin on each side of a 1D barcode, in modules.
// ISO/IEC 15417 asks for 10.
const QuietModules = 10

// Doc is a PDF under construction.
type Doc struct {
	*fpdf.Fpdf
}

// New starts a document of pages w × h millimetres. (fpdf swaps the sides
// of a custom size in landscape, so the size is always given as portrait.)
func New(w, h float64) *Doc {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: w, Ht: h}})
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(0, 0, 0)
	f.SetCompression(true)
	f.AddUTF8FontFromBytes(Regular, "", goregular.TTF)
	f.AddUTF8FontFromBytes(Regular, "B", gobold.TTF)
	f.AddUTF8FontFromBytes(Mono, "B", gomonobold.TTF)
	f.SetCreator("Tremplin", true)
	return &Doc{Fpdf: f}
}

// A4 starts an A4 portrait document.
func A4() *Doc { return New(210, 297) }

// Bytes finishes the document.
func (d *Doc) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.Output(&buf); err != nil {
		return nil, fmt.Errorf("render PDF: %w", err)
	}
	return buf.Bytes(), nil
}

var (
	coverageOnce sync.Once
	coverage     map[rune]bool
	coverageMu   sync.Mutex
	face         *sfnt.Font
)

// covered tells whether the Go fonts have a glyph for r.
func covered(r rune) bool {
	coverageOnce.Do(func() {
		coverage = map[rune]bool{}
		face, _ = sfnt.Parse(goregular.TTF)
	})
	coverageMu.Lock()
	defer coverageMu.Unlock()
	if ok, seen := coverage[r]; seen {
		return ok
	}
	ok := false
	if face != nil {
		var b sfnt.Buffer
		idx, err := face.GlyphIndex(&b, r)
		ok = err == nil && idx != 0
	}
	coverage[r] = ok
	return ok
}

// Clean returns s with every character the font cannot draw replaced by "?"
// (a space it lacks by one it has), and control characters removed, so a
// name in a script the font lacks (Arabic, Chinese...) still gives a valid,
// readable document.
func Clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(' ')
		case unicode.IsControl(r) || r == unicode.ReplacementChar:
		case r < 0x80 || covered(r):
			b.WriteRune(r)
		case r == '\u202f':
			// The narrow no-break space i18n writes in amounts and numbers:
			// the fonts lack it, and a no-break space keeps the amount whole.
			b.WriteRune('\u00a0')
		case unicode.Is(unicode.Zs, r):
			b.WriteRune(' ')
		default:
			b.WriteRune('?')
		}
	}
	return b.String()
}

// Fit cleans s and shortens it with "…" until it fits width mm in the current font.
func (d *Doc) Fit(s string, width float64) string {
	s = Clean(s)
	if d.GetStringWidth(s) <= width {
		return s
	}
	runes := []rune(s)
	for len(runes) > 0 {
		runes = runes[:len(runes)-1]
		t := strings.TrimSpace(string(runes)) + "…"
		if d.GetStringWidth(t) <= width {
			return t
		}
	}
	return ""
}

// TextAt writes cleaned text with its baseline at (x, y).
func (d *Doc) TextAt(x, y float64, s string) { d.Text(x, y, Clean(s)) }

// Code128 draws value as a Code 128 barcode inside the box (x, y, maxW, h),
// quiet zones included, with the module width a whole number of printer dots
// at dpi so that every bar prints crisp. It returns the width used.
func (d *Doc) Code128(x, y, maxW, h float64, value string, dpi float64) (float64, error) {
	bc, err := code128.Encode(value)
	if err != nil {
		return 0, fmt.Errorf("code 128 of %q: %w", value, err)
	}
	modules := bc.Bounds().Dx()
	dot := 25.4 / dpi
	total := float64(modules + 2*QuietModules)
	dots := math.Floor(maxW / total / dot)
	if dots < 1 {
		return 0, fmt.Errorf("code 128 of %q needs %.1f mm at least", value, total*dot)
	}
	// Cap the module at 0.5 mm: wider bars only waste label space.
	if limit := math.Floor(0.5 / dot); dots > limit && limit >= 1 {
		dots = limit
	}
	mw := dots * dot
	d.SetFillColor(0, 0, 0)
	x0 := snap(x+QuietModules*mw, dot)
	d.runs(bc, modules, 0, func(start, n int) { d.Rect(x0+float64(start)*mw, y, float64(n)*mw, h, "F") })
	return total * mw, nil
}

// QR draws value as a QR code of side size mm at (x, y), with its quiet zone
// inside the square.
func (d *Doc) QR(x, y, size float64, value string) error {
	bc, err := qr.Encode(value, qr.M, qr.Auto)
	if err != nil {
		return fmt.Errorf("QR of %q: %w", value, err)
	}
	n := bc.Bounds().Dx()
	m := size / float64(n+8) // 4 modules of quiet zone each side
	d.SetFillColor(0, 0, 0)
	for row := range n {
		d.runs(bc, n, row, func(start, k int) {
			d.Rect(x+float64(start+4)*m, y+float64(row+4)*m, float64(k)*m, m, "F")
		})
	}
	return nil
}

// runs calls fn for each run of dark modules in one row.
func (d *Doc) runs(bc barcode.Barcode, width, row int, fn func(start, n int)) {
	start := -1
	for i := 0; i <= width; i++ {
		on := i < width && dark(bc.At(i, row))
		switch {
		case on && start < 0:
			start = i
		case !on && start >= 0:
			fn(start, i-start)
			start = -1
		}
	}
}

func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r+g+b < 3*0x8000
}

func snap(v, grid float64) float64 { return math.Round(v/grid) * grid }
