package distribution_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// TestPreviewSaleChangesNothing: the counter's preview answers what the
// sale would (its total, or its refusal with the same reason) and leaves no
// trace: no sale, the device in stock, the voucher and the cards untouched.
func TestPreviewSaleChangesNothing(t *testing.T) {
	f := newFixture(t)
	phone := f.device("space", "smartphone", 4500)
	laptop := f.device("space", "laptop", 9000)
	p := f.cards("space", 3)
	code := f.voucherWith(1, 2, "smartphone")
	var uid int64
	f.db.Raw(`SELECT id FROM users WHERE organization_id = ?`, f.orgs["space"].ID).Scan(&uid)
	seller := partners.Caller{UserID: uid, Role: partners.RoleSpace, OrganizationID: f.orgs["space"].ID, OrganizationKind: partners.KindSpace}
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
