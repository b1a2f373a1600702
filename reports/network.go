package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/backup"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// SiteCounts are one site's shelves today.
type SiteCounts struct {
	ID          int64
	Name        string
	Kind        partners.Kind
	Devices     map[string]int64 // by state
	Recharges   int64            // cards sellable today
	Accessories int64            // accessories on the shelves
	Low         []string         // products and accessories under their threshold
}

// AccessoryShelf is an accessory's stock at a site, with its low mark.
type AccessoryShelf struct {
	SiteID    int64
	Name      string
	Available int64
	Threshold int64
	Low       bool
}

// AccessoryShelves reads the accessories' stock of one site (or of every
// site with 0), active accessories only, by name.
func (s *Service) AccessoryShelves(ctx context.Context, siteID int64) ([]AccessoryShelf, error) {
	q := s.DB.WithContext(ctx).Table("accessory_stock st").Select("st.site_id, a.name, st.available, a.low_stock_threshold AS threshold").
		Joins("JOIN accessories a ON a.id = st.accessory_id").Where("a.active = ?", true).Order("st.site_id, a.name")
	if siteID != 0 {
		q = q.Where("st.site_id = ?", siteID)
	}
	var out []AccessoryShelf
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("accessory stock: %w", err)
	}
	for i := range out {
		out[i].Low = out[i].Threshold > 0 && out[i].Available <= out[i].Threshold
	}
	return out, nil
}

// Network is the network's counts today.
type Network struct {
	States         []string // in lifecycle order, those with devices
	DevicesByState map[string]int64
	Sites          []SiteCounts
	VouchersActive int64
	PeopleActive   int64 // people holding an active voucher
}

// States is the order states are shown in.
var States = []string{"received", "diagnosed", "in_repair", "erased", "ready", "in_transit", "in_stock", "sold", "returned", "recycled", "lost"}

// Counts reads the network's counts (admins only): devices by state, each
// site's shelves and recharge cards, active vouchers.
func (s *Service) Counts(ctx context.Context, c partners.Caller, stock *recharges.Service) (Network, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return Network{}, err
	}
	db := s.DB.WithContext(ctx)
	out := Network{DevicesByState: map[string]int64{}}
	// The devices as they stand, from the figures (not a count of every
	// device ever given).
	var counted []struct {
		OrgID int64
		Label string
		N     int64
	}
	if err := db.Raw(`SELECT org_id, label, SUM(n) AS n FROM figure_rows WHERE day = '' AND metric = ? GROUP BY org_id, label HAVING SUM(n) <> 0`, figures.Devices).Scan(&counted).Error; err != nil {
		return out, fmt.Errorf("devices by state: %w", err)
	}
	type row struct {
		SiteID int64
		State  string
		N      int64
	}
	rows := make([]row, 0, len(counted))
	for _, c := range counted {
		state, _, _ := strings.Cut(c.Label, "/")
		rows = append(rows, row{c.OrgID, state, c.N})
	}
	var sites []partners.Organization
	if err := db.Where("kind IN ? AND active = ?", []partners.Kind{partners.KindWarehouse, partners.KindSpace}, true).Order("kind DESC, name").Find(&sites).Error; err != nil {
		return out, fmt.Errorf("sites: %w", err)
	}
	at := map[int64]int{}
	for i, site := range sites {
		at[site.ID] = i
		out.Sites = append(out.Sites, SiteCounts{ID: site.ID, Name: site.Name, Kind: site.Kind, Devices: map[string]int64{}})
	}
	for _, r := range rows {
		out.DevicesByState[r.State] += r.N
		if i, ok := at[r.SiteID]; ok {
			out.Sites[i].Devices[r.State] += r.N
		}
	}
	for _, st := range States {
		if out.DevicesByState[st] > 0 {
			out.States = append(out.States, st)
		}
	}
	lines, err := stock.Shelves(ctx, c, 0)
	if err != nil {
		return out, err
	}
	for _, l := range lines {
		if i, ok := at[l.SiteID]; ok {
			out.Sites[i].Recharges += l.Available
			if l.Low {
				out.Sites[i].Low = append(out.Sites[i].Low, l.Product)
			}
		}
	}
	shelves, err := s.AccessoryShelves(ctx, 0)
	if err != nil {
		return out, err
	}
	for _, a := range shelves {
		if i, ok := at[a.SiteID]; ok {
			out.Sites[i].Accessories += a.Available
			if a.Low {
				out.Sites[i].Low = append(out.Sites[i].Low, a.Name)
			}
		}
	}
	now := s.now()
	if err := db.Table("vouchers").Where("status = ? AND expires_at > ?", "active", now).Count(&out.VouchersActive).Error; err != nil {
		return out, fmt.Errorf("active vouchers: %w", err)
	}
	if err := db.Table("vouchers").Where("status = ? AND expires_at > ?", "active", now).Distinct("beneficiary_id").Count(&out.PeopleActive).Error; err != nil {
		return out, fmt.Errorf("people with a voucher: %w", err)
	}
	slices.SortStableFunc(out.Sites, func(a, b SiteCounts) int {
		if a.Kind != b.Kind {
			if a.Kind == partners.KindWarehouse {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, nil
}

// BackupState is when the last backup was taken, and whether that is too
// long ago (more than two days: the daily one has stopped).
type BackupState struct {
	Last  time.Time
	None  bool
	Stale bool
}

// Backups says how old the network's last backup is (admins only).
func (s *Service) Backups(ctx context.Context, c partners.Caller) (BackupState, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return BackupState{}, err
	}
	last, err := backup.Last(ctx, s.DB)
	if err != nil {
		return BackupState{}, err
	}
	return BackupState{Last: last, None: last.IsZero(), Stale: last.IsZero() || s.now().Sub(last) > 48*time.Hour}, nil
}
