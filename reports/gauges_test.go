package reports_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/reports"
)

// gathered reads the gauges as Prometheus would: name{labels} value.
func gathered(t *testing.T, g *reports.Gauges) []string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out = append(out, fmt.Sprintf("%s{%s} %g", f.GetName(), strings.Join(labels, ","), m.GetGauge().GetValue()))
		}
	}
	sort.Strings(out)
	return out
}

// TestStockGauges: the gauges give the stock as it stands, and a scrape
// sends the same statements whatever the history.
func TestStockGauges(t *testing.T) {
	n := newNetwork(t, database.Now())
	phones := n.devices(`{}`, inventory.Smartphone, inventory.Smartphone, inventory.Laptop)
	n.ready(phones[0], 2000)
	n.send("run", phones[0])
	n.db.Exec(`INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at)
		VALUES (?, 'R10', 1000, 200, 3, true, ?, ?)`, n.org("operator"), database.Now(), database.Now())
	var product int64
	n.db.Raw(`SELECT MAX(id) FROM recharge_products`).Scan(&product)
	_, err := n.rch.Import(n.ctx, admin, product, n.org("run"), strings.NewReader("serial,pin,expires_on\nA,1,2099-01-01\nB,2,2099-01-01\nC,3,2099-01-01\nD,4,2099-01-01\n"), nil)
	n.must(err)
	n.must(n.db.Exec(`UPDATE recharge_units SET expires_on = '2020-01-01' WHERE serial = 'D'`).Error) // a card that ran out on the shelf

	g := &reports.Gauges{DB: n.db, TTL: time.Minute}
	got := strings.Join(gathered(t, g), "\n")
	run, wh := n.org("run"), n.org("warehouse")
	for _, want := range []string{
		fmt.Sprintf("tremplin_devices{category=smartphone,site_id=%d,state=in_stock} 1", run),
		fmt.Sprintf("tremplin_devices{category=smartphone,site_id=%d,state=received} 1", wh),
		fmt.Sprintf("tremplin_devices{category=laptop,site_id=%d,state=received} 1", wh),
		fmt.Sprintf("tremplin_recharge_stock{product_id=%d,site_id=%d} 3", product, run), // the expired card is not stock
		"tremplin_low_stock{} 2", // the warehouse and Cayenne have none of the 3 wanted; Réunion has 3
		"tremplin_stock_scrape_error{} 0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gauges lack %s:\n%s", want, got)
		}
	}

	// A sale: one card fewer in Réunion, now under its threshold.
	code := n.voucher("prescriberA", "Inès", 0, 1, 30)
	n.sell("run", code, "cash", distribution.SaleItem{ProductID: product, Quantity: 1})
	// A box of chargers down to one, under its mark of 2.
	n.must(n.db.Exec(`INSERT INTO accessories (name, kind, price_cents, low_stock_threshold, active, created_at, updated_at)
		VALUES ('Chargeur USB-C', 'charger', 500, 2, true, ?, ?)`, database.Now(), database.Now()).Error)
	var charger int64
	n.db.Raw(`SELECT MAX(id) FROM accessories`).Scan(&charger)
	n.must(n.db.Exec(`INSERT INTO accessory_stock (site_id, accessory_id, available) VALUES (?, ?, 1)`, n.org("run"), charger).Error)
	count := testenv.CountStatements(t, n.db.DB)
	fresh := &reports.Gauges{DB: n.db, TTL: time.Minute}
	var after string
	statements := count.During(func() { after = strings.Join(gathered(t, fresh), "\n") })
	if !strings.Contains(after, "tremplin_low_stock{} 4") || !strings.Contains(after, fmt.Sprintf("tremplin_recharge_stock{product_id=%d,site_id=%d} 2", product, run)) ||
		!strings.Contains(after, fmt.Sprintf("tremplin_accessory_stock{accessory_id=%d,site_id=%d} 1", charger, run)) {
		t.Errorf("after a sale:\n%s", after)
	}
	// The devices, the cards from the figures, those past their date (two
	// small reads, not one over every card on the shelves), the
	// thresholds, the accessories.
	if statements != 5 {
		t.Errorf("a scrape sent %d statements, want 5", statements)
	}
	// Within the TTL, a second scrape reads nothing.
	if again := count.During(func() { gathered(t, fresh) }); again != 0 {
		t.Errorf("a second scrape within the TTL sent %d statements", again)
	}
}
