package distribution

import (
	"encoding/json"
	"time"
)

// Beneficiary is a person referred by a prescriber: only what a voucher
// needs. No address, no reason, no social or health data.
type Beneficiary struct {
	ID             int64   `json:"id"`
	OrganizationID int64   `json:"organization_id"`
	FirstName      string  `json:"first_name"`
	LastName       string  `json:"last_name"`
	NameKey        string  `json:"-"`
	BirthYear      *int    `json:"birth_year"`
	PostalCode     *string `json:"postal_code"`
	// How to reach the person, only with their consent: a mobile in
	// E.164, an email address.
	Phone          *string    `json:"phone"`
	Email          *string    `json:"email"`
	ContactConsent bool       `json:"contact_consent"`
	CreatedBy      *int64     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	LastActivityAt time.Time  `json:"last_activity_at"`
	AnonymisedAt   *time.Time `json:"anonymised_at"`
}

// Voucher statuses. "expired" is not stored: an active voucher past its
// instant reads as expired.
const (
	StatusActive  = "active"
	StatusUsed    = "used"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// Voucher is an eligibility voucher: what a person may buy, until when.
type Voucher struct {
	ID               int64           `json:"id"`
	Code             string          `json:"-"`
	BeneficiaryID    int64           `json:"beneficiary_id"`
	OrganizationID   int64           `json:"organization_id"`
	DeviceCategories json.RawMessage `json:"-" gorm:"serializer:json;type:text"`
	DevicesAllowed   int             `json:"-"`
	RechargesAllowed int             `json:"-"`
	DevicesUsed      int             `json:"-"`
	RechargesUsed    int             `json:"-"`
	ValidUntil       string          `json:"valid_until"`
	ExpiresAt        time.Time       `json:"expires_at"`
	Status           string          `json:"-"`
	RevokedAt        *time.Time      `json:"revoked_at"`
	RevokedBy        *int64          `json:"-"`
	RevokeReason     *string         `json:"revoke_reason"`
	RenewedFromID    *int64          `json:"-"`
	CreatedBy        *int64          `json:"-"`
	CreatedAt        time.Time       `json:"created_at"`
	LastUsedAt       *time.Time      `json:"last_used_at"`
}

// Entitlements are counts of devices and recharges.
type Entitlements struct {
	Devices   int `json:"devices"`
	Recharges int `json:"recharges"`
}

// StatusAt is the voucher's status at an instant.
func (v Voucher) StatusAt(now time.Time) string {
	if v.Status == StatusActive && !now.Before(v.ExpiresAt) {
		return StatusExpired
	}
	return v.Status
}

// Remaining is what the voucher still allows.
func (v Voucher) Remaining() Entitlements {
	return Entitlements{Devices: v.DevicesAllowed - v.DevicesUsed, Recharges: v.RechargesAllowed - v.RechargesUsed}
}

// Categories are the device categories the voucher allows.
func (v Voucher) Categories() []string {
	var out []string
	_ = json.Unmarshal(v.DeviceCategories, &out)
	if out == nil {
		out = []string{}
	}
	return out
}
