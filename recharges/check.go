package recharges

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/internal/invariant"
)

// Check verifies the cards' invariant: a card is sold exactly when its sale
// marks say so.
func (s *Service) Check(ctx context.Context) ([]invariant.Breach, error) {
	var cards []struct {
		Serial string
		Status string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT serial, status FROM recharge_units
		WHERE (status <> 'sold' AND (sale_id IS NOT NULL OR sold_at IS NOT NULL)) OR (status = 'sold' AND sold_at IS NULL)`).Scan(&cards).Error; err != nil {
		return nil, fmt.Errorf("check cards: %w", err)
	}
	var out []invariant.Breach
	for _, c := range cards {
		out = append(out, invariant.Breach{Rule: "card-status", Detail: fmt.Sprintf("card %s is %s but its sale marks disagree", c.Serial, c.Status)})
	}
	return out, nil
}
