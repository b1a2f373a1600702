package partners

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
)

// Network is the network's legal identity: who issues the tax receipts of
// donations and the erasure certificates.
type Network struct {
	LegalName   string `json:"legal_name"`
	Address     string `json:"address"`
	SIREN       string `json:"siren" gorm:"column:siren"`
	RNA         string `json:"rna" gorm:"column:rna"`
	Purpose     string `json:"purpose"`
	TaxReceipts bool   `json:"tax_receipts"`
	// Handover is off, optional or required: whether the person signs for
	// a device at the counter, accepting HandoverText.
	Handover     string `json:"handover"`
	HandoverText string `json:"handover_text"`
}

// Handover settings.
const (
	HandoverOff      = "off"
	HandoverOptional = "optional"
	HandoverRequired = "required"
)

func (Network) TableName() string { return "network_identity" }

// NetworkPatch changes some of the identity.
type NetworkPatch struct {
	LegalName    *string `json:"legal_name"`
	Address      *string `json:"address"`
	SIREN        *string `json:"siren"`
	RNA          *string `json:"rna"`
	Purpose      *string `json:"purpose"`
	TaxReceipts  *bool   `json:"tax_receipts"`
	Handover     *string `json:"handover"`
	HandoverText *string `json:"handover_text"`
}

var (
	sirenShape = regexp.MustCompile(`^[0-9]{9}$`)
	// An association's number in the national register: W and nine digits.
	rnaShape = regexp.MustCompile(`^W[0-9]{9}$`)
)

// NormalizeSIREN removes the spaces people type in a SIREN (« 123 456 789 »).
func NormalizeSIREN(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '\u202f' || r == '.' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// ValidSIREN tells a SIREN: nine digits.
func ValidSIREN(s string) bool { return sirenShape.MatchString(s) }

// NetworkIdentity is the identity as it is now, for documents (no caller:
// what it prints is public).
func (s *Service) NetworkIdentity(ctx context.Context) (Network, error) {
	var n Network
	if err := s.db.WithContext(ctx).Where("id = 1").Take(&n).Error; err != nil {
		return n, fmt.Errorf("network identity: %w", err)
	}
	return n, nil
}

// GetNetwork is the identity, for admins.
func (s *Service) GetNetwork(ctx context.Context, c Caller) (Network, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return Network{}, err
	}
	return s.NetworkIdentity(ctx)
}

// UpdateNetwork changes the identity (admins). Tax receipts need the legal
// name, the address and the SIREN: a receipt without them is worthless.
func (s *Service) UpdateNetwork(ctx context.Context, c Caller, in NetworkPatch) (Network, error) {
	if err := c.Require(RoleAdmin); err != nil {
		return Network{}, err
	}
	if in == (NetworkPatch{}) {
		return Network{}, apperr.Invalid("body", "nothing to change: send legal_name, address, siren, rna, purpose, tax_receipts, handover or handover_text")
	}
	var n Network
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = 1").Take(&n).Error; err != nil {
			return fmt.Errorf("network identity: %w", err)
		}
		v := &apperr.ValidationError{}
		changes := map[string]any{}
		text := func(field string, p *string, max int, dst *string) {
			if p == nil {
				return
			}
			t := strings.TrimSpace(*p)
			if len([]rune(t)) > max {
				v.Field(field, "must be at most %d characters", max)
			}
			changes[field], *dst = t, t
		}
		text("legal_name", in.LegalName, 200, &n.LegalName)
		text("address", in.Address, maxAddressLen, &n.Address)
		text("purpose", in.Purpose, 1000, &n.Purpose)
		if in.SIREN != nil {
			n.SIREN = NormalizeSIREN(*in.SIREN)
			if n.SIREN != "" && !ValidSIREN(n.SIREN) {
				v.Field("siren", "must be nine digits (the SIREN of the association)")
			}
			changes["siren"] = n.SIREN
		}
		if in.RNA != nil {
			n.RNA = strings.ToUpper(NormalizeSIREN(*in.RNA))
			if n.RNA != "" && !rnaShape.MatchString(n.RNA) {
				v.Field("rna", "must be W followed by nine digits (the association's number in the RNA)")
			}
			changes["rna"] = n.RNA
		}
		if in.TaxReceipts != nil {
			n.TaxReceipts = *in.TaxReceipts
			changes["tax_receipts"] = n.TaxReceipts
		}
		text("handover_text", in.HandoverText, 2000, &n.HandoverText)
		if in.Handover != nil {
			n.Handover = *in.Handover
			if n.Handover != HandoverOff && n.Handover != HandoverOptional && n.Handover != HandoverRequired {
				v.Field("handover", "must be off, optional or required")
			}
			changes["handover"] = n.Handover
		}
		if n.Handover != HandoverOff && n.HandoverText == "" {
			v.Field("handover_text", "is required when the person signs: the conditions they accept (not to resell, the warranty…)")
		}
		if n.TaxReceipts {
			for field, val := range map[string]string{"legal_name": n.LegalName, "address": n.Address, "siren": n.SIREN} {
				if val == "" {
					v.Field(field, "is required to issue tax receipts")
				}
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		changes["updated_at"] = s.now()
		if err := tx.Model(&Network{}).Where("id = 1").Updates(changes).Error; err != nil {
			return fmt.Errorf("update network identity: %w", err)
		}
		delete(changes, "updated_at")
		return audit.Record(ctx, tx, "network.update", "network", 1, changes)
	})
	return n, err
}
