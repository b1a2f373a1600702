// Package inventory tracks donated devices from a donation to a sale: their
// registration and asset tags, their lifecycle (diagnosis, certified erasure,
// repair, grading, pricing), labels, transfers between sites, stock checks and
// the erasure certificates donors ask for.
package inventory

import (
	"encoding/json"
	"time"

	"github.com/tremplin/tremplin/internal/database"
)

// Category is the kind of a device.
type Category string

const (
	Smartphone   Category = "smartphone"
	FeaturePhone Category = "feature_phone"
	Laptop       Category = "laptop"
	Tablet       Category = "tablet"
	Desktop      Category = "desktop"
	Other        Category = "other"
)

// Categories lists every category, in the order people see them.
var Categories = []Category{Smartphone, FeaturePhone, Laptop, Tablet, Desktop, Other}

// Key is the category's name in the UI's catalogue.
func (c Category) Key() string { return "category." + string(c) }

// Valid tells whether c is a known category.
func (c Category) Valid() bool {
	for _, x := range Categories {
		if c == x {
			return true
		}
	}
	return false
}

// Grades, best first.
var Grades = []string{"A", "B", "C", "D"}

// ValidGrade tells a grade the price grid knows (A to D).
func ValidGrade(g string) bool {
	for _, x := range Grades {
		if g == x {
			return true
		}
	}
	return false
}

// State is where a device is in its life.
type State string

const (
	Received  State = "received"
	Diagnosed State = "diagnosed"
	Erased    State = "erased"
	InRepair  State = "in_repair"
	Ready     State = "ready"
	InTransit State = "in_transit"
	InStock   State = "in_stock"
	Sold      State = "sold"
	Returned  State = "returned"
	Recycled  State = "recycled"
	Lost      State = "lost"
)

// States lists every state in lifecycle order.
var States = []State{Received, Diagnosed, Erased, InRepair, Ready, InTransit, InStock, Sold, Returned, Recycled, Lost}

// Key is the state's name in the UI's catalogue.
func (s State) Key() string { return "state." + string(s) }

// OnShelf tells whether a device in this state is physically at its site,
// which is what a stock check expects to scan.
func (s State) OnShelf() bool {
	switch s {
	case Received, Diagnosed, Erased, InRepair, Ready, InStock, Returned:
		return true
	}
	return false
}

// Donation is a lot of devices given by a donor and received at a warehouse.
type Donation struct {
	ID          int64     `json:"id"`
	DonorID     int64     `json:"donor_id"`
	WarehouseID int64     `json:"warehouse_id"`
	Note        string    `json:"note"`
	ReceivedOn  string    `json:"received_on"`
	CreatedBy   *int64    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// Device is one donated device: a row with a state and a site.
type Device struct {
	ID            int64           `json:"id"`
	Tag           string          `json:"tag"`
	DonationID    int64           `json:"donation_id"`
	Category      Category        `json:"category"`
	Brand         string          `json:"brand"`
	Model         string          `json:"model"`
	Serial        *string         `json:"serial"`
	IMEI          *string         `json:"imei" gorm:"column:imei"`
	Specs         json.RawMessage `json:"specs" gorm:"serializer:json;type:text"`
	Grade         *string         `json:"grade"`
	PriceCents    *int64          `json:"price_cents"`
	State         State           `json:"state"`
	SiteID        int64           `json:"site_id"`
	ErasedAt      *time.Time      `json:"erased_at"`
	ErasureMethod *string         `json:"erasure_method"`
	// Locks are the last diagnosis's lock checks; null before one.
	Locks *Locks `json:"locks" gorm:"serializer:json;type:text"`
	// Set aside for a voucher until a time (a reservation); a time past
	// holds nothing.
	ReservedVoucherID *int64           `json:"-"`
	ReservedUntil     *time.Time       `json:"-"`
	ReadyAt           database.Instant `json:"-" gorm:"->;-:migration"` // read by a sale only (SellDevice)
	CreatedAt         time.Time        `json:"created_at"`
	UpdatedAt         time.Time        `json:"updated_at"`
}

// Event is one step of a device's append-only history.
type Event struct {
	ID        int64           `json:"id"`
	DeviceID  int64           `json:"device_id"`
	Action    string          `json:"action"`
	FromState State           `json:"from" gorm:"column:from_state"`
	ToState   State           `json:"to" gorm:"column:to_state"`
	UserID    *int64          `json:"user_id"`
	SiteID    *int64          `json:"site_id"`
	At        time.Time       `json:"at"`
	Data      json.RawMessage `json:"data" gorm:"serializer:json;type:text"`
	UserName  string          `json:"user,omitempty" gorm:"->;-:migration"`
}

func (Event) TableName() string { return "device_events" }
