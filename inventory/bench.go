package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/partners"
)

// AllowedActions are the lifecycle actions the caller may take on a device
// now, in the order a bench works, from the same rules Apply checks.
func AllowedActions(c partners.Caller, d Device) []string {
	var out []string
	for _, a := range []string{"diagnose", "erase", "send_to_repair", "mark_ready", "recycle", "mark_lost"} {
		r := lifecycle[a]
		if permits(a, d) && c.Is(r.roles...) {
			out = append(out, a)
		}
	}
	return out
}

// LastErasureMethod is the method the caller used for their last erasure,
// so that a bench that always uses the same tool does not type it again;
// "" when they have erased nothing yet.
func (s *Service) LastErasureMethod(ctx context.Context, c partners.Caller) (string, error) {
	var e Event
	err := s.db.WithContext(ctx).Where("user_id = ? AND action = ?", c.UserID, "erase").Order("id DESC").Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last erasure: %w", err)
	}
	var data struct {
		Method string `json:"method"`
	}
	_ = json.Unmarshal(e.Data, &data)
	return data.Method, nil
}

// GridPrice is the price grid's price for a category and grade, for a page
// to prefill (mark_ready applies the same grid).
func (s *Service) GridPrice(ctx context.Context, cat Category, grade string) (int64, bool, error) {
	return gridPrice(s.db.WithContext(ctx), cat, grade)
}

// DevicesByIDs loads the devices the caller may see, in the order of ids
// (for a print list kept by a page). Ids they cannot see make an ErrInvalid
// naming them, and the visible devices still come back with it.
func (s *Service) DevicesByIDs(ctx context.Context, c partners.Caller, ids []int64) ([]Device, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	return s.visibleByIDs(s.db.WithContext(ctx), c, ids)
}

// OnShelfCount is how many devices the records put on a site's shelves:
// what a stock check expects to scan.
func (s *Service) OnShelfCount(ctx context.Context, c partners.Caller, siteID int64) (int64, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return 0, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return 0, err
	}
	var states []State
	for _, st := range States {
		if st.OnShelf() {
			states = append(states, st)
		}
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&Device{}).Where("site_id = ? AND state IN ?", siteID, states).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count shelf of site %d: %w", siteID, err)
	}
	return n, nil
}

// ShelfCounts counts a site's devices on its shelves by category and state.
func (s *Service) ShelfCounts(ctx context.Context, c partners.Caller, siteID int64) (map[Category]map[State]int64, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return nil, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return nil, err
	}
	var rows []struct {
		Category Category
		State    State
		N        int64
	}
	var states []State
	for _, st := range States {
		if st.OnShelf() {
			states = append(states, st)
		}
	}
	if err := s.db.WithContext(ctx).Model(&Device{}).Select("category, state, COUNT(*) AS n").
		Where("site_id = ? AND state IN ?", siteID, states).Group("category, state").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("shelf of site %d: %w", siteID, err)
	}
	out := map[Category]map[State]int64{}
	for _, r := range rows {
		if out[r.Category] == nil {
			out[r.Category] = map[State]int64{}
		}
		out[r.Category][r.State] = r.N
	}
	return out, nil
}
