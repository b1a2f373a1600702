package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/partners"
)

// NewDevice is the input of RegisterDevice.
type NewDevice struct {
	DonationID int64           `json:"donation_id"`
	Category   Category        `json:"category"`
	Brand      string          `json:"brand"`
	Model      string          `json:"model"`
	Serial     *string         `json:"serial"`
	IMEI       *string         `json:"imei"`
	Specs      json.RawMessage `json:"specs"`
}

const (
	maxTextLen  = 100
	maxSerial   = 64
	maxSpecsLen = 4096
)

// NormalizeIMEI keeps the digits of an IMEI typed or scanned with spaces,
// dashes or slashes.
func NormalizeIMEI(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r != ' ' && r != '-' && r != '/' && r != '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ValidIMEI tells whether s is 15 digits with a valid Luhn check digit.
func ValidIMEI(s string) bool {
	if len(s) != 15 {
		return false
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// NormalizeSerial uppercases a serial and drops the spaces a scanner or a
// person may add.
func NormalizeSerial(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

var printable = regexp.MustCompile(`^[\p{L}\p{N}\p{P}\p{S} ]*$`)

// checkDevice validates a device and normalises it in place. field prefixes
// the error names ("" for the JSON API).
func checkDevice(v fieldErrors, d *NewDevice) {
	if !d.Category.Valid() {
		v.add("category", "must be one of smartphone, feature_phone, laptop, tablet, desktop, other")
	}
	d.Brand, d.Model = strings.TrimSpace(d.Brand), strings.TrimSpace(d.Model)
	for _, f := range []struct{ name, val string }{{"brand", d.Brand}, {"model", d.Model}} {
		switch {
		case f.val == "":
			v.add(f.name, "is required")
		case len([]rune(f.val)) > maxTextLen:
			v.add(f.name, "must be at most %d characters", maxTextLen)
		case !textcheck.CleanName(f.val):
			v.add(f.name, textcheck.NameMessage)
		}
	}
	if d.Serial != nil {
		s := NormalizeSerial(*d.Serial)
		switch {
		case s == "":
			d.Serial = nil
		case len(s) > maxSerial:
			v.add("serial", "must be at most %d characters", maxSerial)
		case !printable.MatchString(s):
			v.add("serial", "contains control characters")
		default:
			d.Serial = &s
		}
	}
	if d.IMEI != nil {
		s := NormalizeIMEI(*d.IMEI)
		switch {
		case s == "":
			d.IMEI = nil
		case !ValidIMEI(s):
			v.add("imei", "%q is not an IMEI: 15 digits whose last is the Luhn check digit", *d.IMEI)
		default:
			d.IMEI = &s
		}
	}
	if len(d.Specs) > 0 && string(d.Specs) != "null" {
		var obj map[string]any
		switch {
		case len(d.Specs) > maxSpecsLen:
			v.add("specs", "must be at most %d bytes", maxSpecsLen)
		case json.Unmarshal(d.Specs, &obj) != nil:
			v.add("specs", "must be an object such as {\"ram_gb\": 4, \"storage_gb\": 64, \"battery_health\": 87}")
		}
	} else {
		d.Specs = json.RawMessage("{}")
	}
}

// fieldErrors lets one validation serve the JSON API (errors by field) and the
// CSV intake (errors by line).
type fieldErrors interface {
	add(field, format string, args ...any)
}

type byField struct{ v *apperr.ValidationError }

func (b byField) add(field, format string, args ...any) { b.v.Field(field, format, args...) }

// RegisterDevice records one device of a donation, with a new asset tag, in
// state received at the donation's warehouse.
func (s *Service) RegisterDevice(ctx context.Context, c partners.Caller, in NewDevice) (Device, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return Device{}, err
	}
	v := &apperr.ValidationError{}
	checkDevice(byField{v}, &in)
	var donation Donation
	if in.DonationID == 0 {
		v.Field("donation_id", "is required")
	} else {
		d, err := s.donationFor(ctx, c, in.DonationID)
		switch {
		case isNotFound(err):
			v.Field("donation_id", "no donation %d at your warehouse", in.DonationID)
		case err != nil:
			return Device{}, err
		default:
			donation = d
		}
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	var dev Device
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := checkUnique(tx, in.IMEI, in.Serial); err != nil {
			return err
		}
		tags, err := nextTags(tx, in.Category, 1)
		if err != nil {
			return err
		}
		dev = s.newDevice(in, donation, tags[0])
		if err := tx.Create(&dev).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Conflict("duplicate-device", "another device holds this IMEI or serial")
			}
			return fmt.Errorf("register device: %w", err)
		}
		var fig figures.Tally
		if err := s.event(tx, &fig, c, dev, dev.SiteID, "register", "", Received, map[string]any{"donation_id": donation.ID}); err != nil {
			return err
		}
		return fig.Flush(tx)
	})
	return dev, err
}

func (s *Service) newDevice(in NewDevice, d Donation, tag string) Device {
	now := s.now()
	return Device{Tag: tag, DonationID: d.ID, Category: in.Category, Brand: in.Brand, Model: in.Model,
		Serial: in.Serial, IMEI: in.IMEI, Specs: in.Specs, State: Received, SiteID: d.WarehouseID,
		CreatedAt: now, UpdatedAt: now}
}

// checkUnique refuses an IMEI or serial that a live (not recycled) device holds.
func checkUnique(tx *gorm.DB, imei, serial *string) error {
	if imei != nil {
		var tag string
		if err := tx.Raw(`SELECT tag FROM devices WHERE imei = ? AND state <> 'recycled' LIMIT 1`, *imei).Scan(&tag).Error; err != nil {
			return fmt.Errorf("check IMEI: %w", err)
		}
		if tag != "" {
			return apperr.Conflict("duplicate-imei", "IMEI %s is already held by device %s", *imei, tag)
		}
	}
	if serial != nil {
		var tag string
		if err := tx.Raw(`SELECT tag FROM devices WHERE serial = ? AND state <> 'recycled' LIMIT 1`, *serial).Scan(&tag).Error; err != nil {
			return fmt.Errorf("check serial: %w", err)
		}
		if tag != "" {
			return apperr.Conflict("duplicate-serial", "serial %s is already held by device %s", *serial, tag)
		}
	}
	return nil
}

// GetDevice returns a device the caller may see.
func (s *Service) GetDevice(ctx context.Context, c partners.Caller, id int64) (Device, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return Device{}, err
	}
	var d Device
	err := s.db.WithContext(ctx).Scopes(visibleDevices(c)).Where("devices.id = ?", id).Take(&d).Error
	if err != nil {
		return d, notFound(err, "device %d", id)
	}
	return d, nil
}

// DeviceFilter narrows ListDevices.
type DeviceFilter struct {
	State      State
	SiteID     int64
	Category   Category
	DonationID int64
	Query      string
}

// ListDevices lists the devices the caller may see, by id.
func (s *Service) ListDevices(ctx context.Context, c partners.Caller, f DeviceFilter, p paging.Page) (paging.List[Device], error) {
	if err := c.Require(StaffRoles...); err != nil {
		return paging.List[Device]{}, err
	}
	v := &apperr.ValidationError{}
	if f.State != "" && !validState(f.State) {
		v.Field("state", "is not a device state")
	}
	if f.Category != "" && !f.Category.Valid() {
		v.Field("category", "is not a category")
	}
	if err := v.Err(); err != nil {
		return paging.List[Device]{}, err
	}
	q := s.db.WithContext(ctx).Model(&Device{}).Scopes(visibleDevices(c)).Where("devices.id > ?", p.AfterID).Order("devices.id").Limit(p.Limit + 1)
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.SiteID != 0 {
		q = q.Where("site_id = ?", f.SiteID)
	}
	if f.Category != "" {
		q = q.Where("category = ?", f.Category)
	}
	if f.DonationID != 0 {
		q = q.Where("donation_id = ?", f.DonationID)
	}
	if t := strings.TrimSpace(f.Query); t != "" {
		code := NormalizeSerial(t)
		like := "%" + escapeLike(strings.ToLower(t)) + "%"
		// A tag by its beginning (TEL, TEL-0000) or by its number alone
		// (00007, 7): people say and type tags so.
		tagLike := escapeLike(code) + "%"
		if n, ok := tagNumber(code); ok {
			tagLike = "%-" + n
		}
		q = q.Where(`tag LIKE ? ESCAPE '\' OR serial = ? OR imei = ? OR LOWER(model) LIKE ? ESCAPE '\' OR LOWER(brand) LIKE ? ESCAPE '\'`,
			tagLike, code, NormalizeIMEI(t), like, like)
	}
	var out []Device
	if err := q.Find(&out).Error; err != nil {
		return paging.List[Device]{}, fmt.Errorf("list devices: %w", err)
	}
	return paging.New(out, p, func(d Device) int64 { return d.ID }), nil
}

// tagNumber is a tag's number typed alone (7, 00007), as its tags write it:
// five digits at least.
func tagNumber(s string) (string, bool) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return "", false
	}
	return fmt.Sprintf("%05s", strings.TrimLeft(s, "0")), true
}

// PlausibleSerial tells a code that could be a manufacturer's serial number
// (letters and digits, with dashes, dots or slashes, 4 to 40 of them) from
// a misread scan, which the station does not offer to register.
func PlausibleSerial(s string) bool {
	return plausibleSerial.MatchString(NormalizeSerial(s))
}

var plausibleSerial = regexp.MustCompile(`^[A-Z0-9][A-Z0-9./-]{3,39}$`)

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func validState(s State) bool {
	for _, x := range States {
		if s == x {
			return true
		}
	}
	return false
}

// EventList is a device's history as a list answer.
func (s *Service) EventList(ctx context.Context, c partners.Caller, id int64) (paging.List[Event], error) {
	ev, err := s.Events(ctx, c, id)
	if ev == nil {
		ev = []Event{}
	}
	return paging.List[Event]{Items: ev}, err
}

// Events returns a device's history, oldest first.
func (s *Service) Events(ctx context.Context, c partners.Caller, id int64) ([]Event, error) {
	if _, err := s.GetDevice(ctx, c, id); err != nil {
		return nil, err
	}
	var out []Event
	err := s.db.WithContext(ctx).Table("device_events").
		Select("device_events.*, COALESCE(users.name, '') AS user_name").
		Joins("LEFT JOIN users ON users.id = device_events.user_id").
		Where("device_id = ?", id).Order("device_events.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("events of device %d: %w", id, err)
	}
	return out, nil
}

var tagWithoutDash = regexp.MustCompile(`^([A-Z][A-Z0-9]*?)([0-9]{5,})$`)

// NormalizeCode turns what a scanner or a person typed into the form codes
// are stored in: no spaces, capitals.
func NormalizeCode(code string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, code))
}

// FindByCode resolves a tag, an IMEI or a serial to the device the caller may
// see. A live device wins over a recycled one with the same serial.
func (s *Service) FindByCode(ctx context.Context, c partners.Caller, raw string) (Device, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return Device{}, err
	}
	d, err := s.findByCode(s.db.WithContext(ctx).Scopes(visibleDevices(c)), raw)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, fmt.Errorf("no device with tag, serial or IMEI %q: %w", strings.TrimSpace(raw), apperr.ErrNotFound)
	}
	return d, err
}

func (s *Service) findByCode(q *gorm.DB, raw string) (Device, error) {
	code := NormalizeCode(raw)
	var d Device
	if code == "" || len(code) > 100 {
		return d, gorm.ErrRecordNotFound
	}
	tags := []string{code}
	if m := tagWithoutDash.FindStringSubmatch(code); m != nil {
		tags = append(tags, m[1]+"-"+m[2])
	}
	err := q.Session(&gorm.Session{}).Where("devices.tag IN ?", tags).Take(&d).Error
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return d, err
	}
	imei := NormalizeIMEI(code)
	err = q.Session(&gorm.Session{}).Where("devices.imei = ? OR devices.serial = ?", imei, code).
		Order("CASE WHEN devices.state = 'recycled' THEN 1 ELSE 0 END, devices.id DESC").Take(&d).Error
	return d, err
}
