package inventory

import (
	"context"
	"fmt"
)

// Breach is one broken invariant, said for a person.
type Breach struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
}

// Check verifies inventory invariants: each device's state is the to-state of
// its last event, and a card is never available while on a sale.
func (s *Service) Check(ctx context.Context) ([]Breach, error) {
	var out []Breach
	var states []struct {
		Tag   string
		State string
		Last  *string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT d.tag, d.state,
			(SELECT e.to_state FROM device_events e WHERE e.device_id = d.id ORDER BY e.id DESC LIMIT 1) AS last
		FROM devices d`).Scan(&states).Error; err != nil {
		return nil, fmt.Errorf("check device events: %w", err)
	}
	for _, d := range states {
		if d.Last == nil || *d.Last != d.State {
			last := "no event"
			if d.Last != nil {
				last = *d.Last
			}
			out = append(out, Breach{"device-state-event", fmt.Sprintf("device %s is %s but its last event says %s", d.Tag, d.State, last)})
		}
	}
	var cards []struct {
		Serial string
		Status string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT serial, status FROM recharge_units
		WHERE (status <> 'sold' AND (sale_id IS NOT NULL OR sold_at IS NOT NULL)) OR (status = 'sold' AND sold_at IS NULL)`).Scan(&cards).Error; err != nil {
		return nil, fmt.Errorf("check cards: %w", err)
	}
	for _, c := range cards {
		out = append(out, Breach{"card-status", fmt.Sprintf("card %s is %s but its sale marks disagree", c.Serial, c.Status)})
	}
	return out, nil
}
