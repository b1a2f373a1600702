package main

import (
	"fmt"
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
	ui.Follow("#pay-cash")
	ui.Do(chromedp.WaitVisible("#sale-done"))
	var status string
	svc.db.Table("reservations").Pluck("status", &status)
	if status != "fulfilled" {
		t.Fatalf("the reservation after the sale: %s", status)
	}
}
