package distribution

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/partners"
)

// DemoVouchers gives the demo prescribers a few beneficiaries and vouchers, and
// returns the codes to try at the counter.
func (s *Service) DemoVouchers(ctx context.Context, net partners.DemoNetwork) ([]string, error) {
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
		b, err := s.CreateBeneficiary(ctx, c, NewBeneficiary{FirstName: p.first, LastName: p.last, BirthYear: &year})
		if err != nil {
			return nil, fmt.Errorf("demo beneficiary: %w", err)
		}
		v, err := s.IssueVoucher(ctx, c, NewVoucher{BeneficiaryID: b.ID, DeviceCategories: p.cats, Devices: p.devices, Recharges: p.charges, ValidDays: 60})
		if err != nil {
			return nil, fmt.Errorf("demo voucher: %w", err)
		}
		codes = append(codes, fmt.Sprintf("%s (%s, %s)", v.Code, p.first, net.Organizations[p.org].Name))
	}
	return codes, nil
}
