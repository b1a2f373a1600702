package reports_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/api"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/secrets"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
	"github.com/tremplin/tremplin/reports"
	"github.com/tremplin/tremplin/services"
	"github.com/tremplin/tremplin/testnet"
)

// network is a warehouse in Paris, spaces in Réunion and Guiana, two
// prescribers, a donor and an operator, with every service on one clock.
type network struct {
	t     *testing.T
	db    *database.DB
	clock *testenv.Clock
	inv   *inventory.Service
	rch   *recharges.Service
	dist  *distribution.Service
	net   testnet.Network
	http  *testenv.HTTP
	ctx   context.Context
}

var admin = partners.Caller{Role: partners.RoleAdmin}

func newNetwork(t *testing.T, start time.Time) *network {
	t.Helper()
	db := testenv.DB(t)
	clk := testenv.NewClock(start)
	keys, _ := secrets.NewKeyring(make([]byte, 32))
	g, err := services.New(services.Config{DB: db, Keys: keys, Argon2MemoryKiB: 64, TokenTTL: 1000 * time.Hour, SessionTTL: time.Hour,
		Logins: partners.LoginLimits{Window: time.Minute, MaxPerUser: 1000, MaxPerAddr: 1000},
		Policy: distribution.Policy{DevicesPerYear: 5, WarrantyMonths: 6}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ps, rch, inv, dist := g.Partners, g.Recharges, g.Inventory, g.Distribution
	net := testnet.Build(t, ps, []testnet.Org{
		{Key: "warehouse", Kind: partners.KindWarehouse, Name: "Entrepôt", Timezone: "Europe/Paris"},
		{Key: "run", Kind: partners.KindSpace, Name: "Espace du Port", Timezone: "Indian/Reunion", Address: "3 rue Léon de Lépervanche, 97420 Le Port"},
		{Key: "cay", Kind: partners.KindSpace, Name: "Espace de Cayenne", Timezone: "America/Cayenne", Address: "1 place des Palmistes, 97300 Cayenne"},
		{Key: "prescriberA", Kind: partners.KindPrescriber, Name: "CCAS de Montreuil", Timezone: "Europe/Paris"},
		{Key: "prescriberB", Kind: partners.KindPrescriber, Name: "Mission locale Nord", Timezone: "Indian/Reunion"},
		{Key: "donor", Kind: partners.KindDonor, Name: "Assurances Mutuelles"},
		{Key: "operator", Kind: partners.KindOperator, Name: "Opérateur"},
	}, map[string]partners.Role{"admin": partners.RoleAdmin, "run": partners.RoleSpace, "cay": partners.RoleSpace,
		"prescriberA": partners.RolePrescriber, "warehouse": partners.RoleWarehouse})
	e, _ := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	(&api.Reports{Service: &reports.Service{DB: db, Now: clk.Now}}).Routes(e.Group("/api/v1", api.RequireAuth(ps)))
	return &network{t: t, db: db, clock: clk, inv: inv, rch: rch, dist: dist, net: net, http: testenv.NewHTTP(t, e), ctx: context.Background()}
}

func (n *network) org(key string) int64 { return n.net.Orgs[key].ID }

func (n *network) prescriber(key string) partners.Caller {
	return partners.Caller{Role: partners.RolePrescriber, OrganizationID: n.org(key), OrganizationKind: partners.KindPrescriber}
}

func (n *network) must(err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatal(err)
	}
}

// devices registers devices at the warehouse, one per category given.
func (n *network) devices(specs string, cats ...inventory.Category) []int64 {
	n.t.Helper()
	return n.devicesFrom(n.org("donor"), specs, cats...)
}

// devicesFrom registers a donation of donor's at the warehouse.
func (n *network) devicesFrom(donor int64, specs string, cats ...inventory.Category) []int64 {
	n.t.Helper()
	don, err := n.inv.CreateDonation(n.ctx, admin, inventory.NewDonation{DonorID: donor, WarehouseID: n.org("warehouse")})
	n.must(err)
	var ids []int64
	for _, c := range cats {
		d, err := n.inv.RegisterDevice(n.ctx, admin, inventory.NewDevice{DonationID: don.ID, Category: c, Brand: "Fairphone", Model: "4", Specs: json.RawMessage(specs)})
		n.must(err)
		ids = append(ids, d.ID)
	}
	return ids
}

// ready takes a device through diagnosis and erasure to ready, at a price.
func (n *network) ready(id int64, price int64) {
	n.t.Helper()
	g, m, r := "B", "Blancco", "passed"
	for _, tr := range []inventory.Transition{{Action: "diagnose", Grade: &g, Locks: &inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "not_applicable"}}, {Action: "erase", Method: &m, Result: &r}, {Action: "mark_ready", PriceCents: &price}} {
		_, err := n.inv.Apply(n.ctx, admin, id, tr)
		n.must(err)
	}
}

// send moves devices from the warehouse to a space.
func (n *network) send(space string, ids ...int64) {
	n.t.Helper()
	tr, err := n.inv.CreateTransfer(n.ctx, admin, inventory.NewTransfer{FromSiteID: n.org("warehouse"), ToSiteID: n.org(space), DeviceIDs: ids})
	n.must(err)
	_, err = n.inv.ShipTransfer(n.ctx, admin, tr.ID)
	n.must(err)
	var codes []string
	for _, d := range tr.Devices {
		codes = append(codes, d.Tag)
	}
	_, err = n.inv.ReceiveTransfer(n.ctx, admin, tr.ID, inventory.Scanned{Codes: codes})
	n.must(err)
}

func (n *network) voucher(prescriber, first string, devices, recharges, days int) string {
	n.t.Helper()
	b, err := n.dist.CreateBeneficiary(n.ctx, n.prescriber(prescriber), distribution.NewBeneficiary{FirstName: first, LastName: "Martin"})
	n.must(err)
	v, err := n.dist.IssueVoucher(n.ctx, n.prescriber(prescriber), distribution.NewVoucher{BeneficiaryID: b.ID,
		DeviceCategories: []string{"smartphone", "laptop", "tablet"}, Devices: devices, Recharges: recharges, ValidDays: days})
	n.must(err)
	return v.Code
}

func (n *network) sell(space, code, method string, items ...distribution.SaleItem) distribution.SaleView {
	n.t.Helper()
	v, _, err := n.dist.Sell(n.ctx, admin, fmt.Sprintf("k-%s-%d", code, time.Now().UnixNano()), distribution.SaleRequest{SiteID: n.org(space),
		VoucherCode: code, PaymentMethod: method, Items: items})
	n.must(err)
	return v
}

// assertRecounted compares the figures kept with a recount of the history.
func (n *network) assertRecounted() {
	n.t.Helper()
	stored, err := figures.Stored(n.ctx, n.db.DB)
	n.must(err)
	counted, err := figures.Recount(n.ctx, n.db.DB)
	n.must(err)
	for _, d := range figures.Compare(stored, counted, 10) {
		n.t.Errorf("figure: %s", d)
	}
}

func (n *network) summary(user, query string) reports.Summary {
	n.t.Helper()
	var s reports.Summary
	n.http.Do("GET", "/api/v1/reports/summary"+query, n.net.Tokens[user], nil).Expect(n.t, 200).Decode(n.t, &s)
	return s
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func days(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

// TestFiguresOfAHandBuiltMonth follows a month of a small network through
// its services and checks every figure of the summary against what
// happened, with sales at the edges of the day in Réunion and Guiana.
func TestFiguresOfAHandBuiltMonth(t *testing.T) {
	n := newNetwork(t, at("2026-03-02T08:00:00Z"))
	phones := n.devices(`{"reference_price_cents": 20000}`, inventory.Smartphone)
	more := n.devices(`{}`, inventory.Smartphone, inventory.Smartphone, inventory.Laptop)
	d1, d2, d3, d4 := phones[0], more[0], more[1], more[2]
	n.clock.Set(at("2026-03-05T08:00:00Z"))
	n.ready(d1, 3000)
	n.ready(d2, 3000)
	reason := "carte mère HS"
	_, err := n.inv.Apply(n.ctx, admin, d4, inventory.Transition{Action: "recycle", Reason: &reason})
	n.must(err)
	n.clock.Set(at("2026-03-09T08:00:00Z"))
	n.ready(d3, 3000)
	n.send("run", d1, d2)
	n.send("cay", d3)
	n.db.Exec(`INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at)
		VALUES (?, 'R10', 1000, 200, 0, true, ?, ?)`, n.org("operator"), database.Now(), database.Now())
	var product int64
	n.db.Raw(`SELECT MAX(id) FROM recharge_products`).Scan(&product)
	_, err = n.rch.Import(n.ctx, admin, product, n.org("run"), strings.NewReader("serial,pin,expires_on\nA,1,2099-01-01\nB,2,2099-01-01\nC,3,2099-01-01\n"), nil)
	n.must(err)

	n.clock.Set(at("2026-03-10T08:00:00Z"))
	alice := n.voucher("prescriberA", "Alice", 1, 2, 30)
	bob := n.voucher("prescriberB", "Bob", 1, 0, 30)
	n.voucher("prescriberA", "Carole", 1, 0, 5) // never used: ends on 15 March

	// 23:30 in Réunion on 12 March (19:30 UTC).
	n.clock.Set(at("2026-03-12T19:30:00Z"))
	first := n.sell("run", alice, "cash", distribution.SaleItem{DeviceID: d1}, distribution.SaleItem{ProductID: product, Quantity: 2})
	// 22:00 in Guiana on 12 March (1:00 UTC on the 13th).
	n.clock.Set(at("2026-03-13T01:00:00Z"))
	n.sell("cay", bob, "card", distribution.SaleItem{DeviceID: d3})
	// Alice brings her phone back, and buys the other one a week later.
	n.clock.Set(at("2026-03-14T06:00:00Z"))
	_, err = n.dist.Refund(n.ctx, admin, first.ID, distribution.RefundRequest{Reason: "écran fêlé", DeviceIDs: []int64{d1}})
	n.must(err)
	n.clock.Set(at("2026-03-20T10:00:00Z"))
	n.sell("run", alice, "cash", distribution.SaleItem{DeviceID: d2})
	n.clock.Set(at("2026-03-25T10:00:00Z"))
	n.assertRecounted()

	s := n.summary("admin", "?from=2026-03-01&to=2026-03-31")
	got := fmt.Sprintf("intake %d erased %d recycled %d sold %d recharges %d face %d paid %d saved %d people %d issued %d used %d",
		s.Intake, s.Erased, s.Recycled, s.Sold, s.RechargesSold, s.FaceValueCents, s.PaidCents, s.SavingsCents, s.BeneficiariesServed, s.VouchersIssued, s.VouchersUsed)
	// Paid: 400 of cards (the phone refunded), 3,000 and 3,000; saved: the
	// cards' 2 × 800 (the refunded phone's 17,000 no longer counts).
	if want := "intake 4 erased 3 recycled 1 sold 2 recharges 2 face 2000 paid 6400 saved 1600 people 2 issued 3 used 2"; got != want {
		t.Errorf("March:\n got %s\nwant %s", got, want)
	}
	// Ready after 3, 3 and 7 days; sold after 7 (refunded, still a wait), 3 and 15.
	if a, b := days(s.MedianDaysIntakeToReady), days(s.MedianDaysReadyToSold); a != "3" || b != "7" {
		t.Errorf("medians intake→ready %s, ready→sold %s; want 3 and 7", a, b)
	}
	if s.DevicesByState["sold"] != 2 || s.DevicesByState["returned"] != 1 || s.DevicesByState["recycled"] != 1 ||
		s.DevicesByCategory["smartphone"] != 3 || s.DevicesByCategory["laptop"] != 1 || len(s.DevicesByState) != 3 {
		t.Errorf("devices now: %v %v", s.DevicesByState, s.DevicesByCategory)
	}
	byOrg := map[int64]string{}
	for _, p := range s.VouchersByPrescriber {
		byOrg[p.OrganizationID] = fmt.Sprintf("issued %d used %d expired %d median %s", p.Issued, p.Used, p.Expired, days(p.MedianDaysToFirstUse))
	}
	if a, b := byOrg[n.org("prescriberA")], byOrg[n.org("prescriberB")]; a != "issued 2 used 1 expired 1 median 2" || b != "issued 1 used 1 expired 0 median 2" || len(byOrg) != 2 {
		t.Errorf("vouchers by prescriber: %v", byOrg)
	}
	// Carole's voucher ends on the 15th: not expired while the 15th lasts.
	n.clock.Set(at("2026-03-15T12:00:00Z"))
	if early := n.summary("admin", "?from=2026-03-01&to=2026-03-31"); early.VouchersByPrescriber[0].Expired != 0 {
		t.Errorf("expired before its end: %+v", early.VouchersByPrescriber)
	}
	n.clock.Set(at("2026-03-25T10:00:00Z"))

	// Each sale belongs to its site's local day: both on 12 March.
	day := n.summary("admin", "?from=2026-03-12&to=2026-03-12")
	if day.Sold != 1 || day.RechargesSold != 2 || day.PaidCents != 3400 || day.BeneficiariesServed != 2 {
		t.Errorf("12 March, network: %+v", day)
	}
	// From the 13th: Alice once more (served on the 12th, again on the
	// 20th), Bob not.
	late := n.summary("admin", "?from=2026-03-13&to=2026-03-31")
	if late.BeneficiariesServed != 1 || late.VouchersUsed != 1 || late.Sold != 1 {
		t.Errorf("from 13 March: %+v", late)
	}
	run := n.summary("run", "?from=2026-03-12&to=2026-03-12")
	if run.Sold != 0 || run.RechargesSold != 2 || run.PaidCents != 400 || run.BeneficiariesServed != 1 || run.Timezone != "Indian/Reunion" {
		t.Errorf("Réunion, 12 March: %+v", run)
	}
	if next := n.summary("run", "?from=2026-03-13&to=2026-03-13"); next.RechargesSold != 0 || next.PaidCents != 0 {
		t.Errorf("Réunion, 13 March: %+v", next)
	}
	cay := n.summary("cay", "?from=2026-03-12&to=2026-03-12")
	if cay.Sold != 1 || cay.PaidCents != 3000 || cay.BeneficiariesServed != 1 || cay.DevicesByState["sold"] != 1 || len(cay.VouchersByPrescriber) != 0 ||
		days(cay.MedianDaysReadyToSold) != "3" {
		t.Errorf("Guiana, 12 March: %+v", cay)
	}
	if next := n.summary("cay", "?from=2026-03-13&to=2026-03-13"); next.Sold != 0 {
		t.Errorf("Guiana, 13 March: %+v", next)
	}
	whole := n.summary("run", "?from=2026-03-01&to=2026-03-31")
	if whole.VouchersIssued != 1 || whole.VouchersUsed != 1 || whole.BeneficiariesServed != 1 || whole.Sold != 1 {
		t.Errorf("Réunion, March: %+v", whole)
	}

	// Scoping: a space sees its own site only; prescribers nothing.
	n.http.Do("GET", fmt.Sprintf("/api/v1/reports/summary?site_id=%d", n.org("cay")), n.net.Tokens["run"], nil).ExpectProblem(t, 404)
	n.http.Do("GET", "/api/v1/reports/summary", n.net.Tokens["prescriberA"], nil).ExpectProblem(t, 403)

	// The CSV parses and carries the new figures.
	body := n.http.Do("GET", "/api/v1/reports/summary?from=2026-03-01&to=2026-03-31", n.net.Tokens["admin"], nil, "Accept", "text/csv").Expect(t, 200).Body
	records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	n.must(err)
	found := map[string]string{}
	for _, r := range records {
		found[r[0]+"|"+r[1]] = r[2]
	}
	if found["median_days_ready_to_sold|"] != "7" || found[fmt.Sprintf("vouchers_by_prescriber.expired|%d", n.org("prescriberA"))] != "1" {
		t.Errorf("csv: %v", found)
	}
}

// TestFiguresEqualARecountAfterABurst: sales, refunds, lifecycle steps and
// voucher revocations race; the figures they kept equal a recount, a
// broken figure is found, and a rebuild (or the migration's backfill) mends it.
func TestFiguresEqualARecountAfterABurst(t *testing.T) {
	n := newNetwork(t, database.Now())
	const buyers = 12
	stock := n.devices(`{"reference_price_cents": 15000}`, repeat(inventory.Smartphone, buyers)...)
	for _, id := range stock {
		n.ready(id, 2500)
	}
	n.send("run", stock...)
	fresh := n.devices(`{}`, repeat(inventory.Laptop, buyers)...)
	codes := make([]string, buyers)
	for i := range codes {
		codes[i] = n.voucher("prescriberA", fmt.Sprintf("P%d", i), 1, 0, 30)
	}
	// The server's folds meanwhile, two processes' worth at once.
	stopFolding := make(chan struct{})
	folded := make(chan error, 2)
	for range 2 {
		go func() {
			for {
				select {
				case <-stopFolding:
					folded <- nil
					return
				default:
				}
				if _, err := figures.Fold(n.ctx, n.db.DB); err != nil {
					folded <- err
					return
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Add(3)
		go func() { // a sale, refunded every third time
			defer wg.Done()
			v, _, err := n.dist.Sell(n.ctx, admin, fmt.Sprintf("burst-%d", i), distribution.SaleRequest{SiteID: n.org("run"), VoucherCode: codes[i],
				PaymentMethod: []string{"cash", "card", "free"}[i%3], Items: []distribution.SaleItem{{DeviceID: stock[i]}}})
			if err != nil {
				t.Error(err)
				return
			}
			if i%3 == 0 {
				if _, err := n.dist.Refund(n.ctx, admin, v.ID, distribution.RefundRequest{Reason: "retour", DeviceIDs: []int64{stock[i]}}); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() { // the warehouse at work meanwhile
			defer wg.Done()
			g := "A"
			if _, err := n.inv.Apply(n.ctx, admin, fresh[i], inventory.Transition{Action: "diagnose", Grade: &g, Locks: &inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "not_applicable"}}); err != nil {
				t.Error(err)
			}
		}()
		go func() { // a second voucher, revoked
			defer wg.Done()
			b, err := n.dist.CreateBeneficiary(n.ctx, n.prescriber("prescriberA"), distribution.NewBeneficiary{FirstName: fmt.Sprintf("R%d", i), LastName: "Roux"})
			if err != nil {
				t.Error(err)
				return
			}
			v, err := n.dist.IssueVoucher(n.ctx, n.prescriber("prescriberA"), distribution.NewVoucher{BeneficiaryID: b.ID, Recharges: 1, ValidDays: 10})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := n.dist.Revoke(n.ctx, n.prescriber("prescriberA"), v.Code, "perdu"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(stopFolding)
	for range 2 {
		n.must(<-folded)
	}
	n.assertRecounted()

	// Reports read the deltas not yet folded: the same summary before and
	// after the last fold, which leaves no delta behind. A voucher issued
	// once the folds stopped leaves a delta to read (PostgreSQL).
	n.voucher("prescriberA", "Late", 1, 0, 30)
	var deltas int64
	n.must(n.db.Raw(`SELECT COUNT(*) FROM figure_deltas`).Scan(&deltas).Error)
	if (deltas > 0) != (n.db.Engine == database.Postgres) {
		t.Errorf("%s holds %d deltas", n.db.Engine, deltas)
	}
	before := n.summary("admin", "")
	var issued int64
	n.must(n.db.Raw(`SELECT COUNT(*) FROM vouchers`).Scan(&issued).Error)
	if before.VouchersIssued != issued {
		t.Fatalf("the summary counts %d vouchers issued, the database holds %d", before.VouchersIssued, issued)
	}
	_, err := figures.Fold(n.ctx, n.db.DB)
	n.must(err)
	if after := n.summary("admin", ""); !reflect.DeepEqual(before, after) {
		t.Errorf("the summary changed with the fold:\n%+v\n%+v", before, after)
	}
	n.must(n.db.Raw(`SELECT COUNT(*) FROM figure_deltas`).Scan(&deltas).Error)
	if deltas != 0 {
		t.Errorf("%d deltas left after a fold", deltas)
	}

	// A figure that drifts is found, and the rebuild mends it.
	if res := n.db.Exec(`UPDATE figures SET n = n + 1 WHERE metric = ?`, figures.Sold); res.Error != nil || res.RowsAffected == 0 {
		t.Fatalf("drifting a figure: %v, %d rows", res.Error, res.RowsAffected)
	}
	stored, _ := figures.Stored(n.ctx, n.db.DB)
	counted, _ := figures.Recount(n.ctx, n.db.DB)
	if len(figures.Compare(stored, counted, 5)) == 0 {
		t.Fatal("a drifted figure went unnoticed")
	}
	_, err = figures.Rebuild(n.ctx, n.db.DB)
	n.must(err)
	n.assertRecounted()

	// A database from before the figures: the migration's request makes
	// the next start fill them from the history.
	n.must(n.db.Exec(`DELETE FROM figures`).Error)
	n.must(n.db.Exec(`INSERT INTO figures (day, org_id, metric, label, n, cents) VALUES ('', 0, 'rebuild', 'pending', 1, 0)`).Error)
	done, err := figures.RebuildIfPending(n.ctx, n.db.DB)
	n.must(err)
	if !done {
		t.Fatal("the pending rebuild did not run")
	}
	n.assertRecounted()
	if again, _ := figures.RebuildIfPending(n.ctx, n.db.DB); again {
		t.Fatal("the rebuild ran twice")
	}
	s := n.summary("admin", "")
	if s.Sold != buyers-buyers/3 || s.BeneficiariesServed != buyers {
		t.Fatalf("after the rebuild: sold %d, people %d", s.Sold, s.BeneficiariesServed)
	}
}

func repeat(c inventory.Category, n int) []inventory.Category {
	out := make([]inventory.Category, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// TestNetworkTodayIsTheLatestSiteDay: at 22:30 in Paris it is already
// 01:30 tomorrow in La Réunion, and a sale there counts on that day. The
// network's summary by default ends on the latest day any site has
// reached, so the sale just made is in it; before, the network's period
// ended on Paris's day and left out every sale made in La Réunion after
// 20:00 UTC until midnight in Paris.
func TestNetworkTodayIsTheLatestSiteDay(t *testing.T) {
	n := newNetwork(t, at("2026-12-06T21:30:00Z"))
	stock := n.devices(`{"reference_price_cents": 15000}`, inventory.Smartphone)
	n.ready(stock[0], 2500)
	n.send("run", stock...)
	code := n.voucher("prescriberA", "Hoarau", 1, 0, 30)
	if _, _, err := n.dist.Sell(n.ctx, admin, "late-sale", distribution.SaleRequest{SiteID: n.org("run"), VoucherCode: code,
		PaymentMethod: "cash", Items: []distribution.SaleItem{{DeviceID: stock[0]}}}); err != nil {
		t.Fatal(err)
	}
	network := n.summary("admin", "")
	if network.To != "2026-12-07" || network.Sold != 1 {
		t.Errorf("the network's summary runs to %s and counts %d sold, want 2026-12-07 and 1", network.To, network.Sold)
	}
	site := n.summary("admin", fmt.Sprintf("?site_id=%d", n.org("run")))
	if site.To != "2026-12-07" || site.Sold != 1 {
		t.Errorf("La Réunion's summary runs to %s and counts %d sold", site.To, site.Sold)
	}
	paris := n.summary("admin", fmt.Sprintf("?site_id=%d", n.org("warehouse")))
	if paris.To != "2026-12-06" {
		t.Errorf("the Paris warehouse's summary runs to %s, want its own day 2026-12-06", paris.To)
	}
}

// TestLocksAndToolReportsAreCounted (issue 28): the summary counts the
// diagnoses that found a lock and the erasures a tool's report proves,
// beside those typed; the figures kept equal a recount of the history.
func TestLocksAndToolReportsAreCounted(t *testing.T) {
	n := newNetwork(t, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	ids := n.devicesFrom(n.org("donor"), "{}", inventory.Laptop, inventory.Laptop, inventory.Smartphone)
	g := "B"
	locked := inventory.Locks{Account: "locked", MDM: "clear", Firmware: "not_applicable", Blocklist: "clear"}
	clear := inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "not_applicable"}
	_, err := n.inv.Apply(n.ctx, admin, ids[2], inventory.Transition{Action: "diagnose", Grade: &g, Locks: &locked})
	n.must(err)
	log, err := os.ReadFile("../inventory/erasurereport/testdata/nwipe-passed.log")
	n.must(err)
	for _, id := range ids[:2] {
		_, err := n.inv.Apply(n.ctx, admin, id, inventory.Transition{Action: "diagnose", Grade: &g, Locks: &clear})
		n.must(err)
	}
	_, err = n.inv.UploadErasureReport(n.ctx, admin, ids[0], inventory.ReportFile{Name: "nwipe.log", Bytes: log})
	n.must(err)
	m, r := "Blancco", "passed"
	_, err = n.inv.Apply(n.ctx, admin, ids[1], inventory.Transition{Action: "erase", Method: &m, Result: &r})
	n.must(err)
	s := n.summary("admin", "?from=2026-03-01&to=2026-03-31")
	if s.Erased != 2 || s.ErasedWithReport != 1 || s.Locked != 1 {
		t.Fatalf("erased %d, with a report %d, locked %d", s.Erased, s.ErasedWithReport, s.Locked)
	}
	im, err := (&reports.Service{DB: n.db, Now: n.clock.Now}).DonorImpact(n.ctx, admin, n.org("donor"), "2026-03-01", "2026-03-31")
	n.must(err)
	if im.Erased != 2 || im.ErasedWithReport != 1 || im.Locked != 1 {
		t.Fatalf("the donor's impact: erased %d, with a report %d, locked %d", im.Erased, im.ErasedWithReport, im.Locked)
	}
	n.assertRecounted()
}
