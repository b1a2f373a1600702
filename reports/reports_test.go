package reports_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/api"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/reports"
	"github.com/tremplin/tremplin/services"
)

func TestSummary(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	keys, _ := secrets.NewKeyring(make([]byte, 32))
	net, err := services.New(services.Config{DB: db, Keys: keys, Argon2MemoryKiB: 64, TokenTTL: time.Hour, SessionTTL: time.Hour,
		Logins: partners.LoginLimits{Window: time.Minute, MaxPerUser: 100, MaxPerAddr: 100}, Policy: distribution.Policy{DevicesPerYear: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ps, rch, inv, dist := net.Partners, net.Recharges, net.Inventory, net.Distribution
	admin := partners.Caller{Role: partners.RoleAdmin}
	orgs := map[partners.Kind]partners.Organization{}
	for _, k := range []partners.Kind{partners.KindWarehouse, partners.KindSpace, partners.KindPrescriber, partners.KindDonor, partners.KindOperator} {
		o, err := ps.CreateOrganization(ctx, admin, partners.NewOrganization{Kind: k, Name: string(k)})
		if err != nil {
			t.Fatal(err)
		}
		orgs[k] = o
	}
	tokens := map[string]string{}
	for name, role := range map[string]partners.Role{"admin": partners.RoleAdmin, "space": partners.RoleSpace, "prescriber": partners.RolePrescriber} {
		in := partners.NewUser{Email: name + "@example.org", Name: name, Password: "0123456789", Role: role}
		if role != partners.RoleAdmin {
			id := orgs[partners.Kind(name)].ID
			in.OrganizationID = &id
		}
		if _, err := ps.CreateUser(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
		s, _ := ps.Login(ctx, partners.Credentials{Email: in.Email, Password: in.Password}, partners.TokenBearer, partners.Client{})
		tokens[name] = s.Token
	}
	wh := partners.Caller{Role: partners.RoleAdmin}
	don, err := inv.CreateDonation(ctx, wh, inventory.NewDonation{DonorID: orgs[partners.KindDonor].ID, WarehouseID: orgs[partners.KindWarehouse].ID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, spec := range []string{`{}`, `{}`, `{"reference_price_cents": 20000}`} {
		d, err := inv.RegisterDevice(ctx, wh, inventory.NewDevice{DonationID: don.ID, Category: inventory.Smartphone, Brand: "Samsung", Model: "A52", Specs: json.RawMessage(spec)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	g, m, r, reason := "B", "Blancco", "passed", "HS"
	for _, tr := range []inventory.Transition{{Action: "diagnose", Grade: &g, Locks: &inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "not_applicable"}}, {Action: "erase", Method: &m, Result: &r}} {
		if _, err := inv.Apply(ctx, wh, ids[0], tr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inv.Apply(ctx, wh, ids[1], inventory.Transition{Action: "recycle", Reason: &reason}); err != nil {
		t.Fatal(err)
	}
	// The third reaches the space (its history kept short here).
	db.Exec(`UPDATE devices SET state = 'in_stock', site_id = ?, price_cents = 3000 WHERE id = ?`, orgs[partners.KindSpace].ID, ids[2])
	db.Exec(`INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at)
		VALUES (?, 'R10', 1000, 200, 0, true, ?, ?)`, orgs[partners.KindOperator].ID, database.Now(), database.Now())
	if _, err := rch.Import(ctx, admin, 1, orgs[partners.KindSpace].ID,
		strings.NewReader("serial,pin,expires_on\nA,1,2099-01-01\nB,2,2099-01-01\nC,3,2099-01-01\n"), nil); err != nil {
		t.Fatal(err)
	}
	presc := partners.Caller{Role: partners.RolePrescriber, OrganizationID: orgs[partners.KindPrescriber].ID, OrganizationKind: partners.KindPrescriber}
	b, err := dist.CreateBeneficiary(ctx, presc, distribution.NewBeneficiary{FirstName: "A", LastName: "B"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := dist.IssueVoucher(ctx, presc, distribution.NewVoucher{BeneficiaryID: b.ID, DeviceCategories: []string{"smartphone"}, Devices: 1, Recharges: 2, ValidDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dist.Sell(ctx, admin, "k", distribution.SaleRequest{SiteID: orgs[partners.KindSpace].ID, VoucherCode: v.Code, PaymentMethod: "cash",
		Items: []distribution.SaleItem{{DeviceID: ids[2]}, {ProductID: 1, Quantity: 2}}}); err != nil {
		t.Fatal(err)
	}
	// A voucher issued and not used yet: the network counts it, a site does not.
	if _, err := dist.IssueVoucher(ctx, presc, distribution.NewVoucher{BeneficiaryID: b.ID, Recharges: 1, ValidDays: 30}); err != nil {
		t.Fatal(err)
	}

	e, _ := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	(&api.Reports{Service: &reports.Service{DB: db}}).Routes(e.Group("/api/v1", api.RequireAuth(ps)))
	h := testenv.NewHTTP(t, e)
	var sum reports.Summary
	h.Do("GET", "/api/v1/reports/summary", tokens["admin"], nil).Expect(t, 200).Decode(t, &sum)
	if sum.Intake != 3 || sum.Erased != 1 || sum.Recycled != 1 || sum.Sold != 1 || sum.RechargesSold != 2 || sum.FaceValueCents != 2000 ||
		sum.PaidCents != 3400 || sum.SavingsCents != 1600+17000 || sum.BeneficiariesServed != 1 || sum.VouchersIssued != 2 || sum.VouchersUsed != 1 ||
		sum.DevicesByState["sold"] != 1 || sum.DevicesByState["recycled"] != 1 || sum.DevicesByCategory["smartphone"] != 3 {
		t.Fatalf("summary %+v", sum)
	}
	// The space sees its own site: the devices were registered at the warehouse.
	var own reports.Summary
	h.Do("GET", "/api/v1/reports/summary", tokens["space"], nil).Expect(t, 200).Decode(t, &own)
	if own.Intake != 0 || own.Sold != 1 || own.VouchersIssued != 1 || own.SiteID == nil || *own.SiteID != orgs[partners.KindSpace].ID {
		t.Fatalf("space summary %+v", own)
	}
	h.Do("GET", "/api/v1/reports/summary?site_id=1", tokens["space"], nil).ExpectProblem(t, 404)
	h.Do("GET", "/api/v1/reports/summary", tokens["prescriber"], nil).ExpectProblem(t, 403)
	h.Do("GET", "/api/v1/reports/summary?from=2026-13-01", tokens["admin"], nil).ExpectProblem(t, 422)
	h.Do("GET", "/api/v1/reports/summary?from=2026-02-01&to=2026-01-01", tokens["admin"], nil).ExpectProblem(t, 422)
	var last reports.Summary
	h.Do("GET", "/api/v1/reports/summary?from=2020-01-01&to=2020-12-31", tokens["admin"], nil).Expect(t, 200).Decode(t, &last)
	if last.Sold != 0 || last.Intake != 0 || last.DevicesByState["sold"] != 1 {
		t.Fatalf("2020 summary %+v", last)
	}
	csv := h.Do("GET", "/api/v1/reports/summary", tokens["admin"], nil, "Accept", "text/csv").Expect(t, 200)
	if !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csv.Body), "savings_cents,,18600") ||
		!strings.Contains(string(csv.Body), "devices_by_state,sold,1") {
		t.Fatalf("csv:\n%s", csv.Body)
	}
}
