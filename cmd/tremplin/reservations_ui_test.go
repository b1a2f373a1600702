package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
)

// TestReservationInBrowser (issue 30) is the orientation on the demo
// network through the pages: the CCAS's social worker opens Aïcha's
// voucher, sees where a laptop is and sets one aside at Belleville; the
// Belleville counter shows it waiting, then, when the voucher is scanned,
// offers it first; one click puts it in the basket and the sale fulfils
// the reservation.
func TestReservationInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, space, paris := demoAccount(t, svc, "belleville@demo.tremplin.local")
	ccas := demoAccountIn(t, net, "ccas@demo.tremplin.local")
	voucher, _, _ := strings.Cut(net.Vouchers[0], " ")
	admin := demoAccountIn(t, net, "admin@demo.tremplin.local")
	h.Do("PATCH", "/api/v1/network", login(t, h.URL, admin.Email, admin.Password), map[string]any{"handover": "required",
		"handover_text": "Je m'engage à ne pas revendre cet appareil ; il est garanti six mois."}).Expect(t, 200)
	var laptops int64
	svc.db.Table("devices").Where("site_id = ? AND state = 'in_stock' AND category = 'laptop'", paris).Count(&laptops)
	if laptops == 0 {
		t.Fatal("the demo's Belleville space has no laptop on its shelf")
	}

	pr := testenv.NewUI(t, h.URL, 20*time.Second)
	pr.Login(ccas.Email, ccas.Password)
	pr.Open("/bons/"+voucher, "#where")
	if got := pr.Text("#where"); !strings.Contains(got, "Belleville") || !strings.Contains(got, fmt.Sprint(laptops)) {
		t.Fatalf("where to find a laptop: %q", got)
	}
	checkPage(t, pr, "voucher with where to find", "/bons/"+voucher)
	pr.Follow(fmt.Sprintf("#reserve-%d-laptop", paris))
	if msg := pr.Text("#flash"); !strings.Contains(msg, "mis de côté") {
		t.Fatalf("the reservation: %q", msg)
	}
	var tag string
	svc.db.Table("devices d").Joins("JOIN reservations r ON r.device_id = d.id").Where("r.status = 'active'").Pluck("d.tag", &tag)
	if got := pr.Text("#reservations"); !strings.Contains(got, tag) {
		t.Fatalf("the voucher's reservations: %q", got)
	}
	if got := pr.Text("#where"); !strings.Contains(got, fmt.Sprint(laptops-1)) || pr.Has("#reserve-"+fmt.Sprint(paris)+"-laptop") {
		t.Fatalf("after the reservation, where: %q", got)
	}
	pr.Shot("prescriber-voucher-reserved")

	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(space.Email, space.Password)
	ui.Open("/caisse", "#pickups")
	if got := ui.Text("#pickups"); !strings.Contains(got, "Aïcha") || !strings.Contains(got, tag) {
		t.Fatalf("the day's pickups: %q", got)
	}
	ui.Shot("counter-pickups")
	checkPage(t, ui, "counter with pickups", "/caisse")
	ui.Scan(voucher, "#reserved")
	ui.Follow("#take-" + tag)
	if got := ui.Text("#basket"); !strings.Contains(got, tag) || ui.Has("#reserved") {
		t.Fatalf("the reserved laptop taken: %q", got)
	}
	// The network requires a signature: without one the sale is refused,
	// said at the counter; drawn with the mouse, it goes through.
	if got := ui.Text("#handover-text"); !strings.Contains(got, "ne pas revendre") {
		t.Fatalf("the conditions at the counter: %q", got)
	}
	ui.Follow("#pay-cash")
	if msg := ui.Text("#till-error"); !strings.Contains(msg, "signe") {
		t.Fatalf("a sale without a signature: %q", msg)
	}
	ui.Eval(`(document.querySelector("#signature-pad").scrollIntoView({block: "center"}), 0)`)
	x0, y0 := float64(ui.Eval(`Math.round(document.querySelector("#signature-pad").getBoundingClientRect().left)`)), float64(ui.Eval(`Math.round(document.querySelector("#signature-pad").getBoundingClientRect().top)`))
	w, hgt := float64(ui.Eval(`Math.round(document.querySelector("#signature-pad").getBoundingClientRect().width)`)), float64(ui.Eval(`Math.round(document.querySelector("#signature-pad").getBoundingClientRect().height)`))
	strokes := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0+w*0.1, y0+hgt*0.7, chromedp.ButtonLeft)}
	for i := 1; i <= 20; i++ {
		f := float64(i) / 20
		strokes = append(strokes, chromedp.MouseEvent(chromedp.MouseMoved, x0+w*(0.1+0.8*f), y0+hgt*(0.7-0.4*f*(1-f)*4), chromedp.ButtonLeft))
	}
	strokes = append(strokes, chromedp.MouseEvent(chromedp.MouseReleased, x0+w*0.9, y0+hgt*0.7, chromedp.ButtonLeft))
	ui.Do(strokes...)
	if !strings.HasPrefix(ui.Value("#signature"), "data:image/png;base64,") {
		t.Fatal("the drawing did not reach the form")
	}
	ui.Shot("counter-signature")
	ui.Follow("#pay-cash")
	ui.Do(chromedp.WaitVisible("#sale-done"))
	var status string
	svc.db.Table("reservations").Pluck("status", &status)
	var sale int64
	svc.db.Table("sale_handovers").Where("signature_png IS NOT NULL").Pluck("sale_id", &sale)
	if status != "fulfilled" || sale == 0 {
		t.Fatalf("after the sale: reservation %s, signed sale %d", status, sale)
	}
	receipt := h.Do("GET", fmt.Sprintf("/api/v1/sales/%d/receipt.pdf", sale), login(t, h.URL, space.Email, space.Password), nil).Expect(t, 200).Body
	if text := testenv.PDFText(t, receipt); !strings.Contains(text, "Signature de la personne") || !strings.Contains(text, "ne pas revendre") {
		t.Fatalf("the receipt:\n%s", text)
	}
	if dir := os.Getenv("TREMPLIN_SCREENSHOTS"); dir != "" {
		testenv.RenderPNG(t, receipt, 150, dir, "receipt-signed-at-the-counter")
	}
}
