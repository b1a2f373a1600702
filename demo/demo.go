// Package demo fills an empty database with a small, realistic network to
// try Tremplin on (`tremplin serve --demo`): the partners and one account per
// role, a price grid, a donation whose devices are at every step of their
// life, transfers, and vouchers to try at the counter. It goes through each
// domain's services, as a person would through the API, so the demo obeys
// every rule. Only the command imports it.
package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Services are the domains the demo fills.
type Services struct {
	Partners     *partners.Service
	Recharges    *recharges.Service
	Accessories  *accessories.Service
	Inventory    *inventory.Service
	Distribution *distribution.Service
}

// Network is what Seed made: the accounts (with their passwords, shown
// once) and voucher codes to try.
type Network struct {
	Accounts []partners.DemoAccount
	Vouchers []string
	// Devices are a few devices to try, each with where: the warehouse's
	// scan station, or a space's counter.
	Devices []string
}

// Seed fills an empty database; partners.ErrNotEmpty on one that holds data.
func Seed(ctx context.Context, s Services) (Network, error) {
	net, err := s.Partners.SeedDemo(ctx)
	if err != nil {
		return Network{}, err
	}
	if err := identity(ctx, s.Partners, net); err != nil {
		return Network{}, err
	}
	if err := stock(ctx, s.Inventory, net); err != nil {
		return Network{}, err
	}
	if err := shelves(ctx, s.Inventory, net); err != nil {
		return Network{}, err
	}
	if err := cards(ctx, s.Recharges, net); err != nil {
		return Network{}, err
	}
	if s.Accessories != nil {
		if err := boxes(ctx, s.Accessories, net); err != nil {
			return Network{}, err
		}
	}
	codes, err := vouchers(ctx, s.Distribution, net)
	if err != nil {
		return Network{}, err
	}
	devices, err := toTry(ctx, s.Inventory, net)
	if err != nil {
		return Network{}, err
	}
	if s.Accessories != nil {
		devices = append(devices, "3760123456789 (the box of a Chargeur USB-C 20 W) at the counter (/caisse, Belleville account), after a voucher")
	}
	return Network{Accounts: net.Accounts, Vouchers: codes, Devices: devices}, nil
}

// identity gives the demo network its legal identity and its donor a
// SIREN, so that a newcomer can print a tax receipt.
func identity(ctx context.Context, p *partners.Service, net partners.DemoNetwork) error {
	adm := net.Caller(partners.RoleAdmin, "")
	on := true
	if _, err := p.UpdateNetwork(ctx, adm, partners.NetworkPatch{LegalName: ptr("Réseau Tremplin (démonstration)"),
		Address: ptr("5 rue du Réemploi, 93100 Montreuil"), SIREN: ptr("123456789"), RNA: ptr("W931234567"),
		Purpose: ptr("Réduire l'exclusion numérique par le réemploi d'équipements donnés"), TaxReceipts: &on,
		// The counter asks the person to sign for a device, without requiring it.
		Handover: ptr(partners.HandoverOptional), HandoverText: ptr("Je reçois cet appareil reconditionné pour mon usage personnel et m'engage à ne pas le revendre. " +
			"Il est garanti six mois : en cas de panne, je le rapporte avec mon ticket dans un espace du réseau.")}); err != nil {
		return fmt.Errorf("demo network identity: %w", err)
	}
	if _, err := p.UpdateOrganization(ctx, adm, net.Organizations["donor"].ID, partners.OrganizationPatch{SIREN: ptr("552100554"),
		Address: ptr("12 avenue de l'Assurance, 75008 Paris")}); err != nil {
		return fmt.Errorf("demo donor: %w", err)
	}
	return nil
}

// boxes gives the demo network a charger (its box's barcode scans at the
// counter) and a case: a box of each received at the warehouse, a few on
// the Paris space's shelf.
func boxes(ctx context.Context, s *accessories.Service, net partners.DemoNetwork) error {
	adm := net.Caller(partners.RoleAdmin, "")
	for _, a := range []struct {
		in        accessories.NewAccessory
		warehouse int
		paris     int
	}{
		{accessories.NewAccessory{Name: "Chargeur USB-C 20 W", Kind: "charger", PriceCents: ptr(int64(500)), ReferencePriceCents: ptr(int64(1990)),
			Barcode: ptr("3760123456789"), LowStockThreshold: ptr(5)}, 40, 8},
		{accessories.NewAccessory{Name: "Étui de protection", Kind: "case", PriceCents: ptr(int64(300)), ReferencePriceCents: ptr(int64(1290)),
			LowStockThreshold: ptr(3)}, 20, 4},
	} {
		made, err := s.Create(ctx, adm, a.in)
		if err != nil {
			return fmt.Errorf("demo accessory %s: %w", a.in.Name, err)
		}
		for site, n := range map[string]int{"warehouse": a.warehouse, "paris": a.paris} {
			if _, err := s.Record(ctx, adm, net.Organizations[site].ID, accessories.NewMovement{AccessoryID: made.ID, Quantity: n}); err != nil {
				return fmt.Errorf("demo %s at %s: %w", a.in.Name, site, err)
			}
		}
	}
	return nil
}

// toTry names a few devices a newcomer can scan at once: two waiting at the
// warehouse's station, two on each space's shelf.
func toTry(ctx context.Context, s *inventory.Service, net partners.DemoNetwork) ([]string, error) {
	var out []string
	for _, at := range []struct {
		role  partners.Role
		site  string
		state inventory.State
		where string
	}{
		{partners.RoleWarehouse, "warehouse", inventory.Received, "at the scan station (/poste, warehouse account): diagnose it with A-D, then LIBRE or a lock card"},
		{partners.RoleWarehouse, "warehouse", inventory.Diagnosed, "at the scan station: locked to its owner's account, or waiting for its erasure report (inventory/erasurereport/testdata/nwipe-passed.log)"},
		{partners.RoleSpace, "paris", inventory.InStock, "at the counter (/caisse, Belleville account), after a voucher"},
		{partners.RoleSpace, "reunion", inventory.InStock, "at the counter (/caisse, Le Port account), after a voucher"},
	} {
		c := net.Caller(at.role, at.site)
		l, err := s.ListDevices(ctx, c, inventory.DeviceFilter{State: at.state, SiteID: net.Organizations[at.site].ID}, paging.Page{Limit: 2})
		if err != nil {
			return nil, fmt.Errorf("demo devices to try: %w", err)
		}
		for _, d := range l.Items {
			out = append(out, fmt.Sprintf("%s (%s %s %s) %s", d.Tag, d.Category, d.Brand, d.Model, at.where))
		}
	}
	return out, nil
}

// stock fills the demo network with a price grid, a donation whose
// devices are at every step of their life, and transfers: some devices in
// stock at the Paris space, some on their way to La Réunion.
func stock(ctx context.Context, s *inventory.Service, net partners.DemoNetwork) error {
	adm := net.Caller(partners.RoleAdmin, "")
	wh := net.Caller(partners.RoleWarehouse, "warehouse")
	paris := net.Caller(partners.RoleSpace, "paris")
	grid := map[string]map[string]int64{
		"smartphone":    {"A": 4500, "B": 3500, "C": 2500, "D": 1500},
		"feature_phone": {"A": 1500, "B": 1000, "C": 700, "D": 500},
		"laptop":        {"A": 12000, "B": 9000, "C": 6000, "D": 4000},
		"tablet":        {"A": 6000, "B": 4500, "C": 3000, "D": 2000},
		"desktop":       {"A": 8000, "B": 6000, "C": 4000, "D": 2500},
		"other":         {"A": 1000, "B": 700, "C": 500, "D": 300},
	}
	if _, err := s.SetPriceGrid(ctx, adm, grid); err != nil {
		return fmt.Errorf("demo price grid: %w", err)
	}
	don, err := s.CreateDonation(ctx, wh, inventory.NewDonation{DonorID: net.Organizations["donor"].ID, WarehouseID: net.Organizations["warehouse"].ID,
		Note: ptr("Renouvellement du parc : téléphones et portables de l'agence de Montreuil")})
	if err != nil {
		return fmt.Errorf("demo donation: %w", err)
	}
	type spec struct {
		dev   inventory.NewDevice
		steps []inventory.Transition
	}
	diag := func(g string) inventory.Transition {
		return inventory.Transition{Action: "diagnose", Grade: &g, Locks: &inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "not_applicable"}}
	}
	erase := inventory.Transition{Action: "erase", Method: ptr("Blancco Mobile Diagnostics & Erasure"), Result: ptr("passed")}
	eraseFailed := inventory.Transition{Action: "erase", Method: ptr("Réinitialisation d'usine"), Result: ptr("failed")}
	ready := inventory.Transition{Action: "mark_ready"}
	specs := []spec{
		{inventory.NewDevice{Category: inventory.Smartphone, Brand: "Samsung", Model: "Galaxy A52", IMEI: ptr("356938035643809")}, []inventory.Transition{diag("A"), erase, ready}},
		{inventory.NewDevice{Category: inventory.Smartphone, Brand: "Apple", Model: "iPhone 8", IMEI: ptr("490154203237518")}, []inventory.Transition{diag("B"), erase, ready}},
		{inventory.NewDevice{Category: inventory.Smartphone, Brand: "Xiaomi", Model: "Redmi Note 10", IMEI: ptr("352099001761481")}, []inventory.Transition{diag("B"), erase, ready}},
		{inventory.NewDevice{Category: inventory.Laptop, Brand: "Lenovo", Model: "ThinkPad T480", Serial: ptr("PF1ABCD2")}, []inventory.Transition{diag("A"), erase, ready}},
		{inventory.NewDevice{Category: inventory.Laptop, Brand: "Dell", Model: "Latitude 5490", Serial: ptr("7XK2JH2")}, []inventory.Transition{diag("C"), erase, ready}},
		{inventory.NewDevice{Category: inventory.Tablet, Brand: "Apple", Model: "iPad 6e génération", Serial: ptr("DMPX1234ABCD")}, []inventory.Transition{diag("B"), eraseFailed, erase}},
		{inventory.NewDevice{Category: inventory.Laptop, Brand: "HP", Model: "EliteBook 840 G5", Serial: ptr("CND8123XYZ")}, []inventory.Transition{diag("D"), {Action: "send_to_repair", Notes: ptr("charnière cassée")}}},
		{inventory.NewDevice{Category: inventory.FeaturePhone, Brand: "Nokia", Model: "105", IMEI: ptr("353456789012348")}, []inventory.Transition{diag("A")}},
		{inventory.NewDevice{Category: inventory.Desktop, Brand: "Fujitsu", Model: "Esprimo P558", Serial: ptr("YM8K001234")}, []inventory.Transition{{Action: "recycle", Reason: ptr("carte mère hors service"), Recycler: ptr("Ecosystem")}}},
		{inventory.NewDevice{Category: inventory.Other, Brand: "Logitech", Model: "Clavier K120", Serial: ptr("2113LZ0ABC")}, nil},
		// Still tied to its former owner's account: kept from sale.
		{inventory.NewDevice{Category: inventory.Smartphone, Brand: "Samsung", Model: "Galaxy S9", IMEI: ptr("359876543210983")},
			[]inventory.Transition{{Action: "diagnose", Grade: ptr("B"), Locks: &inventory.Locks{Account: "locked", MDM: "clear", Firmware: "not_applicable", Blocklist: "clear"}}}},
		// Diagnosed, waiting for the erasure tool's report.
		{inventory.NewDevice{Category: inventory.Laptop, Brand: "Lenovo", Model: "ThinkPad X270", Serial: ptr("PF0X270DEMO")}, []inventory.Transition{diag("B")}},
	}
	var ids []int64
	for _, sp := range specs {
		sp.dev.DonationID = don.ID
		d, err := s.RegisterDevice(ctx, wh, sp.dev)
		if err != nil {
			return fmt.Errorf("demo device %s: %w", sp.dev.Model, err)
		}
		for _, t := range sp.steps {
			if d, err = s.Apply(ctx, wh, d.ID, t); err != nil {
				return fmt.Errorf("demo %s of %s: %w", t.Action, d.Tag, err)
			}
		}
		ids = append(ids, d.ID)
	}
	// Three devices in stock at Paris, one on its way to La Réunion.
	toParis, err := s.CreateTransfer(ctx, wh, inventory.NewTransfer{FromSiteID: net.Organizations["warehouse"].ID, ToSiteID: net.Organizations["paris"].ID, DeviceIDs: ids[0:3]})
	if err != nil {
		return fmt.Errorf("demo transfer: %w", err)
	}
	if _, err := s.ShipTransfer(ctx, wh, toParis.ID); err != nil {
		return fmt.Errorf("demo shipment: %w", err)
	}
	var codes []string
	for _, it := range toParis.Devices {
		codes = append(codes, it.Tag)
	}
	if _, err := s.ReceiveTransfer(ctx, paris, toParis.ID, inventory.Scanned{Codes: codes}); err != nil {
		return fmt.Errorf("demo receipt: %w", err)
	}
	toReunion, err := s.CreateTransfer(ctx, wh, inventory.NewTransfer{FromSiteID: net.Organizations["warehouse"].ID, ToSiteID: net.Organizations["reunion"].ID, DeviceIDs: ids[3:4]})
	if err != nil {
		return fmt.Errorf("demo transfer: %w", err)
	}
	if _, err := s.ShipTransfer(ctx, wh, toReunion.ID); err != nil {
		return fmt.Errorf("demo shipment: %w", err)
	}
	return nil
}

// vouchers gives the demo prescribers a few beneficiaries and vouchers, and
// returns the codes to try at the counter.
func vouchers(ctx context.Context, s *distribution.Service, net partners.DemoNetwork) ([]string, error) {
	people := []struct {
		org, first, last string
		year             int
		cats             []string
		devices, charges int
	}{
		{"ccas", "Aïcha", "Benali", 1987, []string{"smartphone", "laptop"}, 1, 2},
		{"ccas", "Jean", "Dupont", 1958, []string{"tablet"}, 1, 0},
		{"mission", "Kévin", "Payet", 2004, []string{"smartphone"}, 1, 3},
	}
	var codes []string
	for _, p := range people {
		c := net.Caller(partners.RolePrescriber, p.org)
		year := p.year
		b, err := s.CreateBeneficiary(ctx, c, distribution.NewBeneficiary{FirstName: p.first, LastName: p.last, BirthYear: &year})
		if err != nil {
			return nil, fmt.Errorf("demo beneficiary: %w", err)
		}
		v, err := s.IssueVoucher(ctx, c, distribution.NewVoucher{BeneficiaryID: b.ID, DeviceCategories: p.cats, Devices: p.devices, Recharges: p.charges, ValidDays: 60})
		if err != nil {
			return nil, fmt.Errorf("demo voucher: %w", err)
		}
		counter := net.Organizations["paris"].Name
		if p.org == "mission" {
			counter = net.Organizations["reunion"].Name
		}
		codes = append(codes, fmt.Sprintf("%s (%s, %s): %d device(s) among %s, %d recharge(s); try it at %s",
			v.Code, p.first, net.Organizations[p.org].Name, p.devices, strings.Join(p.cats, ", "), p.charges, counter))
	}
	return codes, nil
}

// shelves refurbishes a second lot and stocks both spaces with it, in
// several categories, so that a first sale at either counter finds devices.
func shelves(ctx context.Context, s *inventory.Service, net partners.DemoNetwork) error {
	wh := net.Caller(partners.RoleWarehouse, "warehouse")
	don, err := s.CreateDonation(ctx, wh, inventory.NewDonation{DonorID: net.Organizations["donor"].ID, WarehouseID: net.Organizations["warehouse"].ID,
		Note: ptr("Deuxième lot : fin de location de la flotte mobile")})
	if err != nil {
		return fmt.Errorf("demo donation: %w", err)
	}
	lots := map[string][]inventory.NewDevice{
		"paris": {
			{Category: inventory.Smartphone, Brand: "Samsung", Model: "Galaxy A40", IMEI: ptr("356938035643817")},
			{Category: inventory.Laptop, Brand: "Lenovo", Model: "ThinkPad X260", Serial: ptr("PC0KX260A")},
			{Category: inventory.Laptop, Brand: "HP", Model: "ProBook 640 G4", Serial: ptr("5CG8401XYZ")},
			{Category: inventory.Tablet, Brand: "Samsung", Model: "Galaxy Tab A 10.1", Serial: ptr("R52M40ABCDE")},
			{Category: inventory.Tablet, Brand: "Apple", Model: "iPad 7e génération", Serial: ptr("DMPZ7ABCDEF")},
		},
		"reunion": {
			{Category: inventory.Smartphone, Brand: "Apple", Model: "iPhone SE (2020)", IMEI: ptr("356938035643825")},
			{Category: inventory.Smartphone, Brand: "Motorola", Model: "Moto G8", IMEI: ptr("356938035643833")},
			{Category: inventory.Laptop, Brand: "Dell", Model: "Latitude 7490", Serial: ptr("9DXK2L3")},
			{Category: inventory.FeaturePhone, Brand: "Nokia", Model: "3310 (2017)", IMEI: ptr("356938035643841")},
		},
	}
	grades := []string{"A", "B", "B", "C", "A"}
	for _, site := range []string{"paris", "reunion"} {
		var ids []int64
		for i, nd := range lots[site] {
			nd.DonationID = don.ID
			d, err := s.RegisterDevice(ctx, wh, nd)
			if err != nil {
				return fmt.Errorf("demo device %s: %w", nd.Model, err)
			}
			for _, t := range []inventory.Transition{
				{Action: "diagnose", Grade: ptr(grades[i%len(grades)]), Locks: &inventory.Locks{Account: "clear", MDM: "clear", Firmware: "clear", Blocklist: "clear"}},
				{Action: "erase", Method: ptr("Blancco Mobile Diagnostics & Erasure"), Result: ptr("passed")},
				{Action: "mark_ready"},
			} {
				if d, err = s.Apply(ctx, wh, d.ID, t); err != nil {
					return fmt.Errorf("demo %s of %s: %w", t.Action, d.Tag, err)
				}
			}
			ids = append(ids, d.ID)
		}
		tr, err := s.CreateTransfer(ctx, wh, inventory.NewTransfer{FromSiteID: net.Organizations["warehouse"].ID, ToSiteID: net.Organizations[site].ID, DeviceIDs: ids})
		if err != nil {
			return fmt.Errorf("demo transfer: %w", err)
		}
		if _, err := s.ShipTransfer(ctx, wh, tr.ID); err != nil {
			return fmt.Errorf("demo shipment: %w", err)
		}
		var codes []string
		for _, it := range tr.Devices {
			codes = append(codes, it.Tag)
		}
		if _, err := s.ReceiveTransfer(ctx, net.Caller(partners.RoleSpace, site), tr.ID, inventory.Scanned{Codes: codes}); err != nil {
			return fmt.Errorf("demo receipt: %w", err)
		}
	}
	return nil
}

// cards gives the operator three products and every site cards with
// made-up PINs: a few dozen each, and one product under its low-stock
// threshold at Belleville.
func cards(ctx context.Context, s *recharges.Service, net partners.DemoNetwork) error {
	adm := net.Caller(partners.RoleAdmin, "")
	products := []struct {
		name        string
		face, price int64
		threshold   int
		perSite     map[string]int
	}{
		{"Recharge mobile 10 € — 20 Go", 1000, 200, 10, map[string]int{"warehouse": 40, "paris": 30, "reunion": 25}},
		{"Recharge mobile 20 € — 100 Go", 2000, 400, 10, map[string]int{"warehouse": 40, "paris": 24, "reunion": 20}},
		{"Box 4G 30 jours", 3000, 600, 10, map[string]int{"warehouse": 30, "paris": 6, "reunion": 12}},
	}
	expires := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	serial := 0
	for i, p := range products {
		threshold := p.threshold
		prod, err := s.CreateProduct(ctx, adm, recharges.NewProduct{OperatorID: net.Organizations["operator"].ID, Name: p.name,
			FaceValueCents: p.face, PriceCents: &p.price, LowStockThreshold: &threshold})
		if err != nil {
			return fmt.Errorf("demo product %s: %w", p.name, err)
		}
		for _, site := range []string{"warehouse", "paris", "reunion"} {
			var b strings.Builder
			b.WriteString("serial,pin,expires_on\n")
			for range p.perSite[site] {
				serial++
				// Made-up PINs: 14 digits, like a scratch card's.
				fmt.Fprintf(&b, "DEMO%d%06d,%014d,%s\n", i+1, serial, int64(serial)*7919%100000000000000, expires)
			}
			if _, err := s.Import(ctx, adm, prod.ID, net.Organizations[site].ID, strings.NewReader(b.String()), nil); err != nil {
				return fmt.Errorf("demo cards of %s: %w", p.name, err)
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
