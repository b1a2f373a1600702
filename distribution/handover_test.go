package distribution_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/testenv"
)

// signature draws a scribble as a PNG, in base64.
func signature(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 300, 100))
	for x := range 300 {
		for y := range 100 {
			img.Set(x, y, color.White)
		}
	}
	for x := 20; x < 280; x++ {
		y := 50 + int(30*float64((x%60)-30)/30)
		for d := -2; d <= 2; d++ {
			img.Set(x, y+d, color.Black)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// TestHandover (issue 30): the network requires a signature and writes its
// conditions; a sale of a device without one is 422 and sells nothing (a
// sale of cards alone needs none); a signature that is no PNG is 422; a
// drawn one is kept, served to the sale's site only, printed on the
// receipt with the conditions; one on paper is said so; anonymisation
// erases the signature.
func TestHandover(t *testing.T) {
	f := newFixture(t)
	f.http.Do("PATCH", "/api/v1/network", f.tokens["admin"], map[string]any{"handover": "required"}).ExpectProblem(t, 422)
	f.http.Do("PATCH", "/api/v1/network", f.tokens["admin"], map[string]any{"handover": "always", "handover_text": "x"}).ExpectProblem(t, 422)
	conditions := "Je m'engage à ne pas revendre cet appareil. Garantie de six mois."
	n := f.http.Do("PATCH", "/api/v1/network", f.tokens["admin"], map[string]any{"handover": "required", "handover_text": conditions}).Expect(t, 200).Map(t)
	if n["handover"] != "required" || n["handover_text"] != conditions {
		t.Fatalf("the network: %v", n)
	}
	a, b := f.device("space", "smartphone", 3000), f.device("space", "smartphone", 3000)
	code, paper := f.voucherWith(1, 1), f.voucherWith(1, 0)
	p := f.sell("space", "none", map[string]any{"voucher_code": code, "items": []any{dev(a)}}).ExpectProblem(t, 422)
	if !strings.Contains(fmt.Sprint(p["errors"]), "handover") {
		t.Fatalf("a sale without a signature: %v", p)
	}
	for key, bad := range map[string]map[string]any{
		"junk":  {"signature_png": "pas une image"},
		"jpeg":  {"signature_png": base64.StdEncoding.EncodeToString([]byte("\xff\xd8\xff\xe0 not a png"))},
		"both":  {"signature_png": signature(t), "on_paper": true},
		"empty": {},
	} {
		f.sell("space", key, map[string]any{"voucher_code": code, "items": []any{dev(a)}, "handover": bad}).ExpectProblem(t, 422)
	}
	if f.count("sales") != 0 {
		t.Fatalf("refused sales recorded %d", f.count("sales"))
	}
	cards := f.cards("space", 2)
	f.sell("space", "cards", map[string]any{"voucher_code": code, "items": []any{rech(cards, 1)}}).Expect(t, 201)

	sig := signature(t)
	sale := f.sell("space", "signed", map[string]any{"voucher_code": code, "items": []any{dev(a)}, "handover": map[string]any{"signature_png": "data:image/png;base64," + sig}}).Expect(t, 201).Map(t)
	sid := int64(sale["id"].(float64))
	got := f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/handover.png", sid), f.tokens["space"], nil).Expect(t, 200).Body
	if base64.StdEncoding.EncodeToString(got) != sig {
		t.Fatal("the signature served is not the one drawn")
	}
	f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/handover.png", sid), f.tokens["space2"], nil).ExpectProblem(t, 404)
	receipt := f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/receipt.pdf", sid), f.tokens["space"], nil).Expect(t, 200).Body
	if dir := os.Getenv("TREMPLIN_SCREENSHOTS"); dir != "" {
		testenv.RenderPNG(t, receipt, 150, dir, "receipt-signed")
	}
	if text := testenv.PDFText(t, receipt); !strings.Contains(text, "Remise de l") || !strings.Contains(text, "ne pas revendre") || !strings.Contains(text, "Signature de la personne") {
		t.Fatalf("the receipt:\n%s", text)
	}
	onPaper := f.sell("space", "paper", map[string]any{"voucher_code": paper, "items": []any{dev(b)}, "handover": map[string]any{"on_paper": true}}).Expect(t, 201).Map(t)
	pid := int64(onPaper["id"].(float64))
	f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/handover.png", pid), f.tokens["space"], nil).ExpectProblem(t, 404)
	if text := testenv.PDFText(t, f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/receipt.pdf", pid), f.tokens["space"], nil).Expect(t, 200).Body); !strings.Contains(text, "Signé sur papier") {
		t.Fatalf("the receipt of a paper signature:\n%s", text)
	}

	// Years later, the person is anonymised: the signature goes.
	f.db.Exec(`UPDATE beneficiaries SET last_activity_at = ?`, time.Now().AddDate(-3, 0, 0))
	f.db.Exec(`UPDATE vouchers SET expires_at = ?`, time.Now().AddDate(-2, 0, 0))
	if n, err := f.svc.Anonymise(t.Context(), time.Now().AddDate(0, -24, 0)); err != nil || n == 0 {
		t.Fatalf("anonymised %d: %v", n, err)
	}
	f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/handover.png", sid), f.tokens["space"], nil).ExpectProblem(t, 404)
	if text := testenv.PDFText(t, f.http.Do("GET", fmt.Sprintf("/api/v1/sales/%d/receipt.pdf", sid), f.tokens["space"], nil).Expect(t, 200).Body); !strings.Contains(text, "Signature effacée") {
		t.Fatalf("the receipt after anonymisation:\n%s", text)
	}
}
