package inventory

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/partners"
)

// DemoStock fills the demo network with a price grid, a donation whose
// devices are at every step of their life, and transfers: some devices in
// stock at the Paris space, some on their way to La Réunion.
func (s *Service) DemoStock(ctx context.Context, net partners.DemoNetwork) error {
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
	don, err := s.CreateDonation(ctx, wh, NewDonation{DonorID: net.Organizations["donor"].ID, WarehouseID: net.Organizations["warehouse"].ID,
		Note: ptr("Renouvellement du parc : téléphones et portables de l'agence de Montreuil")})
	if err != nil {
		return fmt.Errorf("demo donation: %w", err)
	}
	type spec struct {
		dev   NewDevice
		steps []Transition
	}
	diag := func(g string) Transition { return Transition{Action: "diagnose", Grade: &g} }
	erase := Transition{Action: "erase", Method: ptr("Blancco Mobile Diagnostics & Erasure"), Result: ptr("passed")}
	eraseFailed := Transition{Action: "erase", Method: ptr("Réinitialisation d'usine"), Result: ptr("failed")}
	ready := Transition{Action: "mark_ready"}
	specs := []spec{
		{NewDevice{Category: Smartphone, Brand: "Samsung", Model: "Galaxy A52", IMEI: ptr("356938035643809")}, []Transition{diag("A"), erase, ready}},
		{NewDevice{Category: Smartphone, Brand: "Apple", Model: "iPhone 8", IMEI: ptr("490154203237518")}, []Transition{diag("B"), erase, ready}},
		{NewDevice{Category: Smartphone, Brand: "Xiaomi", Model: "Redmi Note 10", IMEI: ptr("352099001761481")}, []Transition{diag("B"), erase, ready}},
		{NewDevice{Category: Laptop, Brand: "Lenovo", Model: "ThinkPad T480", Serial: ptr("PF1ABCD2")}, []Transition{diag("A"), erase, ready}},
		{NewDevice{Category: Laptop, Brand: "Dell", Model: "Latitude 5490", Serial: ptr("7XK2JH2")}, []Transition{diag("C"), erase, ready}},
		{NewDevice{Category: Tablet, Brand: "Apple", Model: "iPad 6e génération", Serial: ptr("DMPX1234ABCD")}, []Transition{diag("B"), eraseFailed, erase}},
		{NewDevice{Category: Laptop, Brand: "HP", Model: "EliteBook 840 G5", Serial: ptr("CND8123XYZ")}, []Transition{diag("D"), {Action: "send_to_repair", Notes: ptr("charnière cassée")}}},
		{NewDevice{Category: FeaturePhone, Brand: "Nokia", Model: "105", IMEI: ptr("353456789012348")}, []Transition{diag("A")}},
		{NewDevice{Category: Desktop, Brand: "Fujitsu", Model: "Esprimo P558", Serial: ptr("YM8K001234")}, []Transition{{Action: "recycle", Reason: ptr("carte mère hors service"), Recycler: ptr("Ecosystem")}}},
		{NewDevice{Category: Other, Brand: "Logitech", Model: "Clavier K120", Serial: ptr("2113LZ0ABC")}, nil},
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
	toParis, err := s.CreateTransfer(ctx, wh, NewTransfer{FromSiteID: net.Organizations["warehouse"].ID, ToSiteID: net.Organizations["paris"].ID, DeviceIDs: ids[0:3]})
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
	if _, err := s.ReceiveTransfer(ctx, paris, toParis.ID, Scanned{Codes: codes}); err != nil {
		return fmt.Errorf("demo receipt: %w", err)
	}
	toReunion, err := s.CreateTransfer(ctx, wh, NewTransfer{FromSiteID: net.Organizations["warehouse"].ID, ToSiteID: net.Organizations["reunion"].ID, DeviceIDs: ids[3:4]})
	if err != nil {
		return fmt.Errorf("demo transfer: %w", err)
	}
	if _, err := s.ShipTransfer(ctx, wh, toReunion.ID); err != nil {
		return fmt.Errorf("demo shipment: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
