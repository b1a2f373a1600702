package inventory

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/internal/invariant"
)

// Breach is one broken invariant, said for a person.
type Breach = invariant.Breach

// Check verifies inventory invariants: each device's state is the to-state of
// its last event.
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
			out = append(out, Breach{Rule: "device-state-event", Detail: fmt.Sprintf("device %s is %s but its last event says %s", d.Tag, d.State, last)})
		}
	}
	return out, nil
}
