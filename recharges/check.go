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
	// The references that PostgreSQL no longer checks card by card on an
	// import: the batch, the site, the product and its operator, and the
	// transfer and the selling site a card is imported without.
	var orphans []struct {
		Serial  string
		Missing string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT u.serial, CASE WHEN b.id IS NULL THEN 'batch' WHEN o.id IS NULL THEN 'site'
			WHEN p.id IS NULL THEN 'product' WHEN u.transfer_id IS NOT NULL AND t.id IS NULL THEN 'transfer' ELSE 'selling site' END AS missing
		FROM recharge_units u
		LEFT JOIN recharge_batches b ON b.id = u.batch_id
		LEFT JOIN organizations o ON o.id = u.site_id
		LEFT JOIN recharge_products p ON p.id = u.product_id AND p.operator_id = u.operator_id
		LEFT JOIN transfers t ON t.id = u.transfer_id
		LEFT JOIN organizations so ON so.id = u.sold_site_id
		WHERE b.id IS NULL OR o.id IS NULL OR p.id IS NULL
			OR (u.transfer_id IS NOT NULL AND t.id IS NULL) OR (u.sold_site_id IS NOT NULL AND so.id IS NULL)
		ORDER BY u.id LIMIT 100`).Scan(&orphans).Error; err != nil {
		return nil, fmt.Errorf("check cards' references: %w", err)
	}
	for _, c := range orphans {
		out = append(out, invariant.Breach{Rule: "card-reference", Detail: fmt.Sprintf("card %s names a %s that does not exist", c.Serial, c.Missing)})
	}
	return out, nil
}
