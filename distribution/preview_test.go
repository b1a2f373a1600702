package distribution_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

// seller is the space's staff member, as the counter's pages call the
// service.
func (f *fixture) seller() partners.Caller {
	var uid int64
	f.db.Raw(`SELECT id FROM users WHERE organization_id = ?`, f.orgs["space"].ID).Scan(&uid)
	return partners.Caller{UserID: uid, Role: partners.RoleSpace, OrganizationID: f.orgs["space"].ID, OrganizationKind: partners.KindSpace}
}

// TestPreviewSaleChangesNothing: the counter's preview answers what the
// sale would (its total, or its refusal with the same reason) and leaves no
// trace: no sale, the device in stock, the voucher and the cards untouched.
func TestPreviewSaleChangesNothing(t *testing.T) {
	f := newFixture(t)
	phone := f.device("space", "smartphone", 4500)
	laptop := f.device("space", "laptop", 9000)
	p := f.cards("space", 3)
	code := f.voucherWith(1, 2, "smartphone")
	seller := f.seller()
	req := distribution.SaleRequest{SiteID: f.orgs["space"].ID, VoucherCode: code, PaymentMethod: "cash",
		Items: []distribution.SaleItem{{DeviceID: phone}, {ProductID: p, Quantity: 2}}}
	ctx := context.Background()
	for range 3 {
		v, err := f.svc.PreviewSale(ctx, seller, req)
		if err != nil {
			t.Fatal(err)
		}
		if v.TotalCents <= 4500 || v.ID != 0 || v.Voucher.Remaining.Devices != 0 || v.Voucher.Remaining.Recharges != 0 {
			t.Fatalf("preview %+v", v)
		}
		for _, it := range v.Items {
			if it.PIN != "" {
				t.Fatal("a preview shows a PIN")
			}
		}
	}
	if n := f.count("sales"); n != 0 {
		t.Fatalf("%d sales after previews", n)
	}
	var state string
	var used, sold int64
	f.db.Raw(`SELECT state FROM devices WHERE id = ?`, phone).Scan(&state)
	f.db.Raw(`SELECT devices_used + recharges_used FROM vouchers WHERE code = ?`, strings.ReplaceAll(code, "-", "")).Scan(&used)
	f.db.Raw(`SELECT COUNT(*) FROM recharge_units WHERE sale_id IS NOT NULL`).Scan(&sold)
	if state != "in_stock" || used != 0 || sold != 0 {
		t.Fatalf("after previews: device %s, voucher used %d, cards sold %d", state, used, sold)
	}
	// A category the voucher does not allow: the sale's own refusal.
	req.Items = []distribution.SaleItem{{DeviceID: laptop}}
	_, err := f.svc.PreviewSale(ctx, seller, req)
	var ce *apperr.ConflictError
	if !errors.As(err, &ce) || ce.Code != "category-not-allowed" {
		t.Fatalf("laptop preview: %v", err)
	}
	// Then the sale itself goes through as previewed.
	req.Items = []distribution.SaleItem{{DeviceID: phone}, {ProductID: p, Quantity: 2}}
	if _, _, err := f.svc.Sell(ctx, seller, "after-preview", req); err != nil {
		t.Fatal(err)
	}
}

// TestPreviewSaysWhatTheSaleWould: for each refusal, the preview refuses
// with the sale's own code, and neither leaves a trace.
func TestPreviewSaysWhatTheSaleWould(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seller := f.seller()
	site := f.orgs["space"].ID
	oneCard := f.cards("space", 1)
	sold := f.device("space", "smartphone", 1000)
	f.exec(`UPDATE devices SET state = 'sold' WHERE id = ?`, sold)
	elsewhere := f.device("space2", "smartphone", 1000)
	reserved := f.device("space", "smartphone", 1000)
	other := f.voucherWith(1, 0)
	f.exec(`UPDATE devices SET reserved_voucher_id = (SELECT id FROM vouchers WHERE code = ?), reserved_until = ? WHERE id = ?`,
		strings.ReplaceAll(other, "-", ""), f.clock.Now().Add(48*time.Hour), reserved)
	revoked := f.voucherWith(1, 1)
	f.exec(`UPDATE vouchers SET status = 'revoked' WHERE code = ?`, strings.ReplaceAll(revoked, "-", ""))
	cases := []struct {
		name, code string
		items      []distribution.SaleItem
		want       string
	}{
		{"two cards of one", f.voucherWith(0, 2), []distribution.SaleItem{{ProductID: oneCard, Quantity: 2}}, "stock-short"},
		{"a device sold", f.voucherWith(1, 0), []distribution.SaleItem{{DeviceID: sold}}, "device-unavailable"},
		{"a device at another space", f.voucherWith(1, 0), []distribution.SaleItem{{DeviceID: elsewhere}}, "device-unavailable"},
		{"a device set aside for another", f.voucherWith(1, 0), []distribution.SaleItem{{DeviceID: reserved}}, "device-reserved"},
		{"a card the voucher does not allow", f.voucherWith(1, 0), []distribution.SaleItem{{ProductID: oneCard, Quantity: 1}}, "entitlement-exhausted"},
		{"a revoked voucher", revoked, []distribution.SaleItem{{ProductID: oneCard, Quantity: 1}}, "voucher-inactive"},
	}
	for i, c := range cases {
		req := distribution.SaleRequest{SiteID: site, VoucherCode: c.code, PaymentMethod: "cash", Items: c.items}
		_, perr := f.svc.PreviewSale(ctx, seller, req)
		_, _, serr := f.svc.Sell(ctx, seller, fmt.Sprintf("refused-%d", i), req)
		var pc, sc *apperr.ConflictError
		if !errors.As(perr, &pc) || !errors.As(serr, &sc) || pc.Code != c.want || sc.Code != c.want || pc.Detail != sc.Detail {
			t.Errorf("%s: preview %v, sale %v, want %s", c.name, perr, serr, c.want)
		}
	}
	// The day closed: both say so.
	f.http.Do("POST", fmt.Sprintf("/api/v1/sites/%d/closing", site), f.tokens["space"], map[string]any{"date": f.clock.Now().In(mustZone(t, "Europe/Paris")).Format(time.DateOnly), "counted_cash_cents": 0})
	req := distribution.SaleRequest{SiteID: site, VoucherCode: f.voucherWith(0, 1), PaymentMethod: "cash", Items: []distribution.SaleItem{{ProductID: oneCard, Quantity: 1}}}
	_, perr := f.svc.PreviewSale(ctx, seller, req)
	var pc *apperr.ConflictError
	if !errors.As(perr, &pc) || pc.Code != "day-closed" {
		t.Errorf("a closed day's preview: %v", perr)
	}
	if n := f.count("sales"); n != 0 {
		t.Fatalf("%d sales after refusals", n)
	}
}

// TestPreviewTakesNoLock: while another transaction holds the voucher, the
// person and the site (as a sale or a closing does), a basket's preview
// answers at once: it reads, it does not wait.
func TestPreviewTakesNoLock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seller := f.seller()
	phone := f.device("space", "smartphone", 4500)
	code := f.voucherWith(1, 0)
	held := f.db.Begin()
	defer held.Rollback()
	lock := ""
	if f.db.Engine == database.Postgres {
		lock = " FOR UPDATE"
	}
	for _, q := range []string{`SELECT id FROM vouchers WHERE code = ?` + lock, `SELECT beneficiary_id FROM vouchers WHERE code = ?` + lock} {
		if err := held.Exec(q, strings.ReplaceAll(code, "-", "")).Error; err != nil {
			t.Fatal(err)
		}
	}
	// The site's row, and (SQLite) the one writer.
	if err := held.Exec(`UPDATE organizations SET updated_at = updated_at WHERE id = ?`, f.orgs["space"].ID).Error; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	v, err := f.svc.PreviewSale(ctx, seller, distribution.SaleRequest{SiteID: f.orgs["space"].ID, VoucherCode: code, PaymentMethod: "cash",
		Items: []distribution.SaleItem{{DeviceID: phone}}})
	if err != nil || v.TotalCents != 4500 {
		t.Fatalf("preview beside a held transaction: %v %+v", err, v)
	}
	t.Logf("preview beside a held transaction: %v", time.Since(start))
}
