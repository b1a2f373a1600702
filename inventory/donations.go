package inventory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/partners"
)

// NewDonation is the input of CreateDonation.
type NewDonation struct {
	DonorID     int64   `json:"donor_id"`
	WarehouseID int64   `json:"warehouse_id"`
	Note        *string `json:"note"`
	ReceivedOn  *string `json:"received_on"`
}

// DonationView is a donation with the count of its devices by state.
type DonationView struct {
	Donation
	Donor        string          `json:"donor"`
	Warehouse    string          `json:"warehouse"`
	Counts       map[State]int64 `json:"counts"`
	TotalDevices int64           `json:"total_devices"`
}

// CreateDonation records a lot received at a warehouse. Warehouse staff
// receive at their own warehouse.
func (s *Service) CreateDonation(ctx context.Context, c partners.Caller, in NewDonation) (DonationView, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return DonationView{}, err
	}
	v := &apperr.ValidationError{}
	donor, err := s.partners.OrganizationOfKind(ctx, v, "donor_id", in.DonorID, partners.KindDonor)
	if err != nil {
		return DonationView{}, err
	}
	wh, err := s.partners.OrganizationOfKind(ctx, v, "warehouse_id", in.WarehouseID, partners.KindWarehouse)
	if err != nil {
		return DonationView{}, err
	}
	if own, ok := c.SiteID(); ok && in.WarehouseID != 0 && own != in.WarehouseID {
		v.Field("warehouse_id", "you receive donations at your own warehouse (id %d)", own)
	}
	note := ""
	if in.Note != nil {
		note = strings.TrimSpace(*in.Note)
		if len([]rune(note)) > 2000 {
			v.Field("note", "must be at most 2000 characters")
		}
	}
	receivedOn := ""
	if wh.ID != 0 {
		today := s.now().In(wh.Location())
		receivedOn = today.Format(time.DateOnly)
		if in.ReceivedOn != nil {
			d, err := time.ParseInLocation(time.DateOnly, *in.ReceivedOn, wh.Location())
			switch {
			case err != nil:
				v.Field("received_on", "must be a date such as 2026-11-23")
			case d.After(today):
				v.Field("received_on", "is in the future")
			default:
				receivedOn = d.Format(time.DateOnly)
			}
		}
	}
	if err := v.Err(); err != nil {
		return DonationView{}, err
	}
	d := Donation{DonorID: donor.ID, WarehouseID: wh.ID, Note: note, ReceivedOn: receivedOn, CreatedAt: s.now()}
	if c.UserID != 0 {
		uid := c.UserID
		d.CreatedBy = &uid
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&d).Error; err != nil {
			return fmt.Errorf("create donation: %w", err)
		}
		return audit.Record(ctx, tx, "donation.create", "donation", d.ID, map[string]any{"donor_id": d.DonorID, "warehouse_id": d.WarehouseID})
	})
	if err != nil {
		return DonationView{}, err
	}
	return DonationView{Donation: d, Donor: donor.Name, Warehouse: wh.Name, Counts: map[State]int64{}}, nil
}

// donationFor loads a donation the caller may see: admins any, warehouse
// staff those received at their warehouse.
func (s *Service) donationFor(ctx context.Context, c partners.Caller, id int64) (Donation, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return Donation{}, err
	}
	var d Donation
	err := s.db.WithContext(ctx).Scopes(partners.AtOwnSite(c, "warehouse_id")).Where("id = ?", id).Take(&d).Error
	if err != nil {
		return d, notFound(err, "donation %d", id)
	}
	return d, nil
}

// GetDonation returns a donation with its devices counted by state.
func (s *Service) GetDonation(ctx context.Context, c partners.Caller, id int64) (DonationView, error) {
	d, err := s.donationFor(ctx, c, id)
	if err != nil {
		return DonationView{}, err
	}
	return s.donationView(ctx, d)
}

func (s *Service) donationView(ctx context.Context, d Donation) (DonationView, error) {
	view := DonationView{Donation: d, Counts: map[State]int64{}}
	var rows []struct {
		State State
		N     int64
	}
	if err := s.db.WithContext(ctx).Table("devices").Select("state, COUNT(*) AS n").
		Where("donation_id = ?", d.ID).Group("state").Scan(&rows).Error; err != nil {
		return view, fmt.Errorf("count devices of donation %d: %w", d.ID, err)
	}
	for _, r := range rows {
		view.Counts[r.State] = r.N
		view.TotalDevices += r.N
	}
	var names []struct {
		ID   int64
		Name string
	}
	if err := s.db.WithContext(ctx).Table("organizations").Select("id, name").
		Where("id IN ?", []int64{d.DonorID, d.WarehouseID}).Scan(&names).Error; err != nil {
		return view, fmt.Errorf("names of donation %d: %w", d.ID, err)
	}
	for _, n := range names {
		if n.ID == d.DonorID {
			view.Donor = n.Name
		}
		if n.ID == d.WarehouseID {
			view.Warehouse = n.Name
		}
	}
	return view, nil
}

// ListDonations lists the donations the caller may see, newest first by id.
func (s *Service) ListDonations(ctx context.Context, c partners.Caller, donorID int64, p paging.Page) (paging.List[Donation], error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return paging.List[Donation]{}, err
	}
	q := s.db.WithContext(ctx).Scopes(partners.AtOwnSite(c, "warehouse_id")).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if donorID != 0 {
		q = q.Where("donor_id = ?", donorID)
	}
	var out []Donation
	if err := q.Find(&out).Error; err != nil {
		return paging.List[Donation]{}, fmt.Errorf("list donations: %w", err)
	}
	return paging.New(out, p, func(d Donation) int64 { return d.ID }), nil
}
