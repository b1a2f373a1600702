package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Symbol is one barcode a reader found on a page.
type Symbol struct {
	Page int
	Type string // as zbarimg names it: CODE-128, QR-Code
	Data string
}

// DecodePDF renders every page of a PDF at 300 dpi with pdftoppm and decodes
// its barcodes with zbarimg, as a person with a scanner would read them.
func DecodePDF(t testing.TB, pdf []byte) []Symbol {
	t.Helper()
	need(t, "pdftoppm", "poppler-utils")
	need(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	sort.Strings(pages)
	if len(pages) == 0 {
		t.Fatal("pdftoppm rendered no page")
	}
	var symbols []Symbol
	for i, p := range pages {
		out, err := exec.Command("zbarimg", "-q", p).Output()
		// zbarimg exits 4 when a page has no barcode at all.
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 4) {
			t.Fatalf("zbarimg %s: %v", p, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			typ, data, ok := strings.Cut(line, ":")
			if ok {
				symbols = append(symbols, Symbol{Page: i + 1, Type: typ, Data: data})
			}
		}
	}
	return symbols
}

// PDFText extracts a PDF's text with pdftotext, in reading layout.
func PDFText(t testing.TB, pdf []byte) string {
	t.Helper()
	need(t, "pdftotext", "poppler-utils")
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// PDFPages counts the pages pdfinfo sees: it also proves the file is a valid PDF.
func PDFPages(t testing.TB, pdf []byte) int {
	t.Helper()
	out := pdfinfo(t, pdf)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n := 0
			for _, c := range strings.TrimSpace(v) {
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	t.Fatalf("pdfinfo gave no page count:\n%s", out)
	return 0
}

// RenderPNG writes page 1 of a PDF as a PNG at dpi into dir (for a person to look at).
func RenderPNG(t testing.TB, pdf []byte, dpi int, dir, name string) string {
	t.Helper()
	need(t, "pdftoppm", "poppler-utils")
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, name)
	if out, err := exec.Command("pdftoppm", "-r", strconv.Itoa(dpi), "-png", "-singlefile", in, base).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	return base + ".png"
}

func need(t testing.TB, cmd, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(cmd); err != nil {
		Missing(t, "no %s: install Debian's %s (apt-get install %s)", cmd, pkg, pkg)
	}
}

// PDFPageSize is the first page's width and height in millimetres, as pdfinfo reads it.
func PDFPageSize(t testing.TB, pdf []byte) (float64, float64) {
	t.Helper()
	out := pdfinfo(t, pdf)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Page size:"); ok {
			var w, h float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f x %f", &w, &h); err == nil {
				return w * 25.4 / 72, h * 25.4 / 72
			}
		}
	}
	t.Fatalf("pdfinfo gave no page size:\n%s", out)
	return 0, 0
}

// pdfinfo is what poppler's pdfinfo says of a document.
func pdfinfo(t testing.TB, pdf []byte) string {
	t.Helper()
	need(t, "pdfinfo", "poppler-utils")
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", in).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	return string(out)
}
