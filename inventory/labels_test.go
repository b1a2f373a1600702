package inventory_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tremplin/tremplin/internal/testenv"
)

func decodedTags(t *testing.T, pdf []byte) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, s := range testenv.DecodePDF(t, pdf) {
		if s.Type == "CODE-128" {
			got[s.Data]++
		}
	}
	return got
}

// TestEveryLayoutScans prints one label per layout, with and without a QR,
// and reads it back as a scanner would: pdftoppm at 300 dpi, then zbarimg.
func TestEveryLayoutScans(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	d := f.ready(don, map[string]any{"brand": "Žluťoučký Œuvre", "model": "Ελληνικά Кириллица 漢字 محمد"})
	tag := d["tag"].(string)
	var layouts struct {
		Items []struct {
			Name  string  `json:"name"`
			Width float64 `json:"width_mm"`
		}
	}
	f.HTTP.Do("GET", "/api/v1/label-layouts", f.Tokens["warehouse"], nil).Expect(t, 200).Decode(t, &layouts)
	if len(layouts.Items) < 4 {
		t.Fatalf("layouts %v", layouts.Items)
	}
	for _, l := range layouts.Items {
		for _, qr := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s qr=%v", l.Name, qr), func(t *testing.T) {
				r := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/label.pdf?layout=%s&qr=%v", id(d), l.Name, qr), f.Tokens["warehouse"], nil).Expect(t, 200)
				if r.Header.Get("Content-Type") != "application/pdf" {
					t.Fatalf("content type %q", r.Header.Get("Content-Type"))
				}
				if dir := os.Getenv("TREMPLIN_SCREENSHOTS"); dir != "" {
					testenv.RenderPNG(t, r.Body, 300, dir, fmt.Sprintf("label-%s-%v", l.Name, qr))
				}
				if n := decodedTags(t, r.Body)[tag]; n != 1 {
					t.Fatalf("tag %s decoded %d times", tag, n)
				}
				if qr {
					found := false
					for _, s := range testenv.DecodePDF(t, r.Body) {
						found = found || s.Type == "QR-Code" && s.Data == tag
					}
					if !found {
						t.Fatal("QR not decoded")
					}
				}
				text := testenv.PDFText(t, r.Body)
				for _, want := range []string{tag, "Žluťoučký", "Grade B", "45,00"} {
					if !contains(text, want) {
						t.Errorf("label text lacks %q:\n%s", want, text)
					}
				}
			})
		}
	}
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/label.pdf?layout=nope", id(d)), f.Tokens["warehouse"], nil).ExpectProblem(t, 422)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/label.pdf", id(d)), f.Tokens["warehouse2"], nil).ExpectProblem(t, 404)
	f.HTTP.Do("GET", fmt.Sprintf("/api/v1/devices/%d/label.pdf", id(d)), f.Tokens["prescriber"], nil).ExpectProblem(t, 403)
}

// TestSheetOfAHundredLabels prints 100 labels on A4 sheets after 5 used
// positions and decodes every one.
func TestSheetOfAHundredLabels(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	var b []byte
	b = append(b, "category,brand,model\n"...)
	for i := range 100 {
		b = append(b, fmt.Sprintf("laptop,Lenovo,ThinkPad T%d\n", 400+i)...)
	}
	res := f.intake("warehouse", don, string(b)).Expect(t, 201).Map(t)
	var ids []int64
	want := map[string]bool{}
	for _, e := range res["devices"].([]any) {
		m := e.(map[string]any)
		ids = append(ids, int64(m["id"].(float64)))
		want[m["tag"].(string)] = true
	}
	for _, layout := range []struct {
		name  string
		pages int
	}{{"a4-3x8", 5}, {"a4-avery-l7163", 8}} {
		t.Run(layout.name, func(t *testing.T) {
			r := f.HTTP.Do("POST", "/api/v1/labels", f.Tokens["warehouse"], map[string]any{"device_ids": ids, "layout": layout.name, "offset": 5}).Expect(t, 200)
			if n := testenv.PDFPages(t, r.Body); n != layout.pages {
				t.Fatalf("%d pages, want %d", n, layout.pages)
			}
			if dir := os.Getenv("TREMPLIN_SCREENSHOTS"); dir != "" {
				testenv.RenderPNG(t, r.Body, 100, dir, "sheet-"+layout.name)
			}
			got := decodedTags(t, r.Body)
			for tag := range want {
				if got[tag] != 1 {
					t.Errorf("%s decoded %d times", tag, got[tag])
				}
			}
		})
	}
	f.HTTP.Do("POST", "/api/v1/labels", f.Tokens["warehouse"], map[string]any{"device_ids": ids[:1], "layout": "a4-3x8", "offset": 24}).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/labels", f.Tokens["warehouse"], map[string]any{"device_ids": ids[:1], "layout": "brother-62x29", "offset": 1}).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/labels", f.Tokens["warehouse"], map[string]any{"device_ids": []int64{}, "layout": "a4-3x8"}).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/labels", f.Tokens["warehouse"], map[string]any{"device_ids": []int64{ids[0], 99999}, "layout": "a4-3x8"}).ExpectProblem(t, 422)
	f.HTTP.Do("POST", "/api/v1/labels", f.Tokens["space"], map[string]any{"device_ids": ids[:1], "layout": "a4-3x8"}).ExpectProblem(t, 422)
}

func contains(haystack, needle string) bool {
	return len(needle) == 0 || indexFold(haystack, needle) >= 0
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
