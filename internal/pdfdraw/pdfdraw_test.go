package pdfdraw_test

import (
	"strings"
	"testing"

	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/internal/testenv"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"Cœur d'Œuvre à 45 €":  "Cœur d'Œuvre à 45 €",
		"Ελληνικά и кириллица": "Ελληνικά и кириллица",
		"محمد":                 "????",
		"王芳":                   "??",
		"tab\there\x00\x07":    "tab here",
		// i18n's amounts: their narrow no-break spaces drawn as no-break
		// spaces, never as "?".
		"1\u202f234,50\u202f€": "1\u00a0234,50\u00a0€",
		"a\u2009b":             "a b",
	} {
		if got := pdfdraw.Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBarcodesDecode draws Code 128 and QR codes at several widths and dot
// grids, and reads them back from a 300 dpi rendering with zbarimg.
func TestBarcodesDecode(t *testing.T) {
	d := pdfdraw.A4()
	d.AddPage()
	values := []string{"TEL-00001", "PC-12345", "DIV-99999", "K7QM-3XPD-9RTW", "356938035643809"}
	y := 10.0
	for i, v := range values {
		dpi := []float64{203, 300}[i%2]
		if _, err := d.Code128(10, y, 60+float64(i)*10, 12, v, dpi); err != nil {
			t.Fatal(err)
		}
		y += 20
	}
	if err := d.QR(120, 10, 30, "https://tremplin.example/v/K7QM-3XPD-9RTW"); err != nil {
		t.Fatal(err)
	}
	d.SetFont(pdfdraw.Regular, "", 12)
	d.TextAt(10, 150, "Français : œ, é, €; Ελληνικά; Кириллица; عربى; 中文")
	pdf, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range testenv.DecodePDF(t, pdf) {
		got[s.Data] = s.Type
	}
	for _, v := range values {
		if got[v] != "CODE-128" {
			t.Errorf("%s not decoded as Code 128 (decoded: %v)", v, got)
		}
	}
	if got["https://tremplin.example/v/K7QM-3XPD-9RTW"] != "QR-Code" {
		t.Errorf("QR not decoded: %v", got)
	}
	text := testenv.PDFText(t, pdf)
	for _, want := range []string{"œ, é, €", "Ελληνικά", "Кириллица"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q not found in the PDF:\n%s", want, text)
		}
	}
}

func TestCode128TooNarrow(t *testing.T) {
	d := pdfdraw.A4()
	d.AddPage()
	if _, err := d.Code128(0, 0, 5, 10, "TEL-00001", 300); err == nil {
		t.Fatal("a 5 mm wide barcode was accepted")
	}
}
