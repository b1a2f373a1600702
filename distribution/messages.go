package distribution

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/partners"
)

// channelFor chooses how to reach a person: an SMS to their mobile, else
// an email, among the channels this server has settings for. 422
// notifications-off without any; 422 when the person gave no way this
// server can use.
func (s *Service) channelFor(b Beneficiary) (channel, recipient string, err error) {
	if len(s.channels) == 0 {
		return "", "", apperr.InvalidBecause("notifications-off", "notify", "notifications are not configured on this server: tell the person yourself")
	}
	switch {
	case !b.ContactConsent:
	case b.Phone != nil && slices.Contains(s.channels, notify.SMS):
		return notify.SMS, *b.Phone, nil
	case b.Email != nil && slices.Contains(s.channels, notify.Email):
		return notify.Email, *b.Email, nil
	}
	return "", "", apperr.Invalid("notify", "the person has no mobile number or email address recorded with their consent that this server can send to")
}

// spaceToGo is the space a voucher's holder is sent to: the nearest of
// the prescriber's territory.
func (s *Service) spaceToGo(tx *gorm.DB, org partners.Organization, b Beneficiary) (partners.Organization, bool, error) {
	var spaces []partners.Organization
	if err := tx.Where("kind = ? AND active = ?", partners.KindSpace, true).Order("name").Find(&spaces).Error; err != nil {
		return partners.Organization{}, false, fmt.Errorf("spaces: %w", err)
	}
	near := ""
	if b.PostalCode != nil {
		near = departement(*b.PostalCode)
	}
	spaces = NearestSpaces(spaces, org.Timezone, near)
	if len(spaces) == 0 {
		return partners.Organization{}, false, nil
	}
	return spaces[0], true, nil
}

// tellVoucher queues the message that gives the person their voucher: its
// code, its last day and where to go.
func (s *Service) tellVoucher(tx *gorm.DB, b Beneficiary, vo VoucherView) error {
	channel, to, err := s.channelFor(b)
	if err != nil {
		return err
	}
	var org partners.Organization
	if err := tx.Where("id = ?", b.OrganizationID).Take(&org).Error; err != nil {
		return fmt.Errorf("organisation of beneficiary %d: %w", b.ID, err)
	}
	fr := i18n.French // people are written to in French
	body := fr.T("Tremplin: your voucher %s is valid until %s inclusive.", vo.Code, fr.ISODate(vo.ValidUntil))
	if sp, ok, err := s.spaceToGo(tx, org, b); err != nil {
		return err
	} else if ok {
		body += " " + fr.T("Show it at %s, %s.", sp.Name, sp.Address)
	}
	_, _, err = notify.Queue(tx, notify.Message{BeneficiaryID: b.ID, Channel: channel, Kind: "voucher", About: fmt.Sprintf("voucher:%d", vo.ID), Recipient: to,
		Subject: fr.T("Your Tremplin voucher %s", vo.Code), Body: body}, s.now())
	return err
}

// tellReservation queues the message that a device waits for the person.
func (s *Service) tellReservation(tx *gorm.DB, vo Voucher, r ReservationView, site partners.Organization, category string) error {
	var b Beneficiary
	if err := tx.Where("id = ?", vo.BeneficiaryID).Take(&b).Error; err != nil {
		return fmt.Errorf("beneficiary of voucher %d: %w", vo.ID, err)
	}
	channel, to, err := s.channelFor(b)
	if err != nil {
		return err
	}
	// The code and the day first: a long address is what an SMS of 160
	// characters cuts.
	fr := i18n.French
	body := fr.T("Tremplin, voucher %s: %s waits for you until %s at %s, %s.",
		FormatCode(vo.Code), fr.T("sms.a."+category), fr.Date(r.ExpiresAt, site.Location()), site.Name, site.Address)
	_, _, err = notify.Queue(tx, notify.Message{BeneficiaryID: b.ID, Channel: channel, Kind: "reservation", About: fmt.Sprintf("reservation:%d", r.ID), Recipient: to,
		Subject: fr.T("A device waits for you"), Body: body}, s.now())
	return err
}

// Notifications lists a person's messages (their bodies are not listed),
// for the person's prescriber organisation and admins.
func (s *Service) Notifications(ctx context.Context, c partners.Caller, beneficiaryID int64) ([]notify.Notification, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.beneficiaryFor(db, c, beneficiaryID); err != nil {
		return nil, err
	}
	return notify.List(db, beneficiaryID)
}

// RemindEnding queues, within two days of a voucher's or a reservation's
// end, one reminder to the person: only where a first message went (the
// prescriber chose to write to them), the voucher still allows something
// and the person can still be reached. Every process of serve may run it:
// a reminder is queued once per voucher or reservation (notifications.about).
func (s *Service) RemindEnding(ctx context.Context) (int, error) {
	now := s.now()
	fr := i18n.French // people are written to in French
	horizon := now.Add(48 * time.Hour)
	queued := 0
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var vs []Voucher
		if err := tx.Where(`status = ? AND expires_at > ? AND expires_at <= ? AND created_at <= ?
			AND (devices_used < devices_allowed OR recharges_used < recharges_allowed)
			AND EXISTS (SELECT 1 FROM notifications n WHERE n.about = 'voucher:' || vouchers.id)
			AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.about = 'voucher-reminder:' || vouchers.id)`,
			StatusActive, now, horizon, now.Add(-48*time.Hour)).Limit(500).Find(&vs).Error; err != nil {
			return fmt.Errorf("vouchers ending: %w", err)
		}
		for _, vo := range vs {
			var b Beneficiary
			if err := tx.Where("id = ? AND anonymised_at IS NULL", vo.BeneficiaryID).Take(&b).Error; err != nil {
				continue // gone: nobody to remind
			}
			channel, to, err := s.channelFor(b)
			if err != nil {
				continue // no longer reachable: nothing to send
			}
			_, ok, err := notify.Queue(tx, notify.Message{BeneficiaryID: b.ID, Channel: channel, Kind: "voucher-reminder",
				About: fmt.Sprintf("voucher-reminder:%d", vo.ID), Recipient: to, Subject: fr.T("Your Tremplin voucher ends soon"),
				Body: fr.T("Tremplin, reminder: your voucher %s ends on %s. Come by a space of the network before then.", FormatCode(vo.Code), fr.ISODate(vo.ValidUntil))}, now)
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		var rs []Reservation
		if err := tx.Where(`status = ? AND expires_at > ? AND expires_at <= ? AND created_at <= ?
			AND EXISTS (SELECT 1 FROM notifications n WHERE n.about = 'reservation:' || reservations.id)
			AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.about = 'reservation-reminder:' || reservations.id)`,
			ReservationActive, now, horizon, now.Add(-48*time.Hour)).Limit(500).Find(&rs).Error; err != nil {
			return fmt.Errorf("reservations ending: %w", err)
		}
		for _, r := range rs {
			var vo Voucher
			var b Beneficiary
			var site partners.Organization
			if tx.Where("id = ?", r.VoucherID).Take(&vo).Error != nil || tx.Where("id = ? AND anonymised_at IS NULL", vo.BeneficiaryID).Take(&b).Error != nil ||
				tx.Where("id = ?", r.SiteID).Take(&site).Error != nil {
				continue
			}
			channel, to, err := s.channelFor(b)
			if err != nil {
				continue
			}
			_, ok, err := notify.Queue(tx, notify.Message{BeneficiaryID: b.ID, Channel: channel, Kind: "reservation-reminder",
				About: fmt.Sprintf("reservation-reminder:%d", r.ID), Recipient: to, Subject: fr.T("Your device still waits for you"),
				Body: fr.T("Tremplin, reminder, voucher %s: your %s waits for you until %s at %s, %s.", FormatCode(vo.Code), fr.T("sms."+r.Category),
					fr.Date(r.ExpiresAt, site.Location()), site.Name, site.Address)}, now)
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		return nil
	})
	return queued, err
}

// Reachable tells whether the person of a voucher can be sent a message
// by this server (their consent, a mobile or an email it can use).
func (s *Service) Reachable(ctx context.Context, c partners.Caller, beneficiaryID int64) bool {
	b, err := s.beneficiaryFor(s.db.WithContext(ctx), c, beneficiaryID)
	if err != nil {
		return false
	}
	_, _, err = s.channelFor(b)
	return err == nil
}
