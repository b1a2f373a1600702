package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// DeviceRef is a short description of a device in a report.
type DeviceRef struct {
	ID       int64    `json:"id"`
	Tag      string   `json:"tag"`
	Category Category `json:"category"`
	Brand    string   `json:"brand"`
	Model    string   `json:"model"`
	State    State    `json:"state"`
	SiteID   int64    `json:"site_id"`
}

// refColumns are what refOf reads, with what resolving a code compares:
// a shelf of 20,000 devices is read without their specs and history.
var refColumns = []string{"devices.id", "devices.tag", "devices.category", "devices.brand", "devices.model", "devices.state",
	"devices.site_id", "devices.imei", "devices.serial"}

func refOf(d Device) DeviceRef {
	return DeviceRef{ID: d.ID, Tag: d.Tag, Category: d.Category, Brand: d.Brand, Model: d.Model, State: d.State, SiteID: d.SiteID}
}

// Elsewhere is a scanned device that the records put at another site or in a
// state that is not on a shelf. The device is described only to a caller who
// may see it; to others the code is just recorded elsewhere.
type Elsewhere struct {
	Code string `json:"code"`
	*DeviceRef
}

// StockCheck is the result of scanning everything on a site's shelves.
type StockCheck struct {
	ID         int64       `json:"id"`
	SiteID     int64       `json:"site_id"`
	UserID     *int64      `json:"user_id"`
	At         time.Time   `json:"at"`
	Scanned    int         `json:"scanned"`
	Seen       int         `json:"seen"`
	Missing    []DeviceRef `json:"missing"`
	Unexpected []string    `json:"unexpected"`
	Elsewhere  []Elsewhere `json:"elsewhere"`
	// Accessories are the accessories counted, beside what the ledger said.
	Accessories []accessories.Difference `json:"accessories"`
}

type stockCheckRow struct {
	ID      int64
	SiteID  int64
	UserID  *int64
	At      time.Time
	Scanned int
	Result  string
}

func (stockCheckRow) TableName() string { return "stock_checks" }

const MaxStockCodes = 20_000

// CheckStock compares what a site scanned with what the records say is on
// its shelves: devices expected and not scanned are missing, codes that match
// no device are unexpected, and devices recorded at another site or in a state
// not on a shelf (sold, in transit...) are elsewhere. Accessories counted
// are compared with the ledger. The result is kept.
func (s *Service) CheckStock(ctx context.Context, c partners.Caller, siteID int64, codes []string, counted ...accessories.Quantity) (StockCheck, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return StockCheck{}, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return StockCheck{}, err
	}
	if _, err := s.partners.Site(ctx, siteID); err != nil {
		return StockCheck{}, err
	}
	if len(codes) > MaxStockCodes {
		return StockCheck{}, apperr.Invalid("codes", "at most %d codes per stock check", MaxStockCodes)
	}
	if len(counted) > 0 && s.acc == nil {
		return StockCheck{}, apperr.Invalid("accessories", "this server does not keep accessories")
	}
	res := StockCheck{SiteID: siteID, At: s.now(), Missing: []DeviceRef{}, Unexpected: []string{}, Elsewhere: []Elsewhere{}, Accessories: []accessories.Difference{}}
	if c.UserID != 0 {
		uid := c.UserID
		res.UserID = &uid
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		// Every code is resolved at once (two statements), then read in
		// the order scanned.
		var scanned []string
		done := map[string]bool{}
		for _, raw := range codes {
			code := NormalizeCode(raw)
			if code == "" || done[code] {
				continue // a blank scan, or the same item scanned twice
			}
			done[code] = true
			scanned = append(scanned, code)
		}
		res.Scanned = len(scanned)
		found, err := s.resolveCodes(tx.Model(&Device{}).Select(refColumns), scanned)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		var away []Device
		for _, code := range scanned {
			d, ok := found[code]
			if !ok {
				res.Unexpected = append(res.Unexpected, code)
				continue
			}
			if seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			if d.SiteID == siteID && d.State.OnShelf() {
				res.Seen++
				continue
			}
			res.Elsewhere = append(res.Elsewhere, Elsewhere{Code: code})
			away = append(away, d)
		}
		// What the caller may see of the devices found elsewhere, in one
		// statement too.
		visible, err := s.visibleIDs(tx, c, away)
		if err != nil {
			return err
		}
		for i, d := range away {
			if visible[d.ID] {
				ref := refOf(d)
				res.Elsewhere[i].DeviceRef = &ref
			}
		}
		var expected []Device
		if err := tx.Select(refColumns).Where("site_id = ? AND state IN ?", siteID, onShelfStates()).Order("tag").Find(&expected).Error; err != nil {
			return fmt.Errorf("expected stock: %w", err)
		}
		for _, d := range expected {
			if !seen[d.ID] {
				res.Missing = append(res.Missing, refOf(d))
			}
		}
		if len(counted) > 0 {
			if res.Accessories, err = s.acc.Compare(tx, siteID, counted); err != nil {
				return err
			}
		}
		result, err := json.Marshal(stockCheckResult{Missing: res.Missing, Unexpected: res.Unexpected, Elsewhere: res.Elsewhere, Seen: res.Seen, Accessories: res.Accessories})
		if err != nil {
			return err
		}
		row := stockCheckRow{SiteID: siteID, UserID: res.UserID, At: res.At, Scanned: res.Scanned, Result: string(result)}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("record stock check: %w", err)
		}
		res.ID = row.ID
		return nil
	})
	return res, err
}

// visibleIDs tells which of the devices the caller may see (GET
// /devices/{id} answers them).
func (s *Service) visibleIDs(tx *gorm.DB, c partners.Caller, devices []Device) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(devices) == 0 {
		return out, nil
	}
	ids := make([]int64, len(devices))
	for i, d := range devices {
		if c.IsAdmin() {
			out[d.ID] = true
		}
		ids[i] = d.ID
	}
	if c.IsAdmin() {
		return out, nil
	}
	// At most maxStockCodes ids: under either engine's limit of bound
	// parameters.
	var seen []int64
	if err := tx.Model(&Device{}).Scopes(visibleDevices(c)).Where("devices.id IN ?", ids).Pluck("devices.id", &seen).Error; err != nil {
		return nil, fmt.Errorf("devices' visibility: %w", err)
	}
	for _, id := range seen {
		out[id] = true
	}
	return out, nil
}

// GetStockCheck returns a recorded stock check of a site.
func (s *Service) GetStockCheck(ctx context.Context, c partners.Caller, siteID, id int64) (StockCheck, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return StockCheck{}, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return StockCheck{}, err
	}
	var row stockCheckRow
	if err := s.db.WithContext(ctx).Where("id = ? AND site_id = ?", id, siteID).Take(&row).Error; err != nil {
		return StockCheck{}, notFound(err, "stock check %d", id)
	}
	return row.check()
}

// stockCheckResult is what a stock check keeps of its result.
type stockCheckResult struct {
	Missing     []DeviceRef              `json:"missing"`
	Unexpected  []string                 `json:"unexpected"`
	Elsewhere   []Elsewhere              `json:"elsewhere"`
	Seen        int                      `json:"seen"`
	Accessories []accessories.Difference `json:"accessories"`
}

func (row stockCheckRow) check() (StockCheck, error) {
	res := StockCheck{ID: row.ID, SiteID: row.SiteID, UserID: row.UserID, At: row.At, Scanned: row.Scanned}
	var body stockCheckResult
	if err := json.Unmarshal([]byte(row.Result), &body); err != nil {
		return res, fmt.Errorf("stock check %d: %w", row.ID, err)
	}
	res.Missing, res.Unexpected, res.Elsewhere, res.Seen, res.Accessories = body.Missing, body.Unexpected, body.Elsewhere, body.Seen, body.Accessories
	if res.Accessories == nil {
		res.Accessories = []accessories.Difference{} // a check kept before accessories were counted
	}
	return res, nil
}

// CorrectFromStockCheck turns the difference a stock check found for an
// accessory into a correction of the site's stock, with the reason given
// and the check's number. Each difference is corrected once: the check
// records the correction in the same transaction, and a second try is 409.
func (s *Service) CorrectFromStockCheck(ctx context.Context, c partners.Caller, siteID, checkID, accessoryID int64, reason string) (accessories.Movement, error) {
	if err := c.Require(StaffRoles...); err != nil {
		return accessories.Movement{}, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return accessories.Movement{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return accessories.Movement{}, apperr.Invalid("reason", "is required: what the count found (a box not recorded, breakage, a loss…)")
	case len([]rune(reason)) > 400:
		return accessories.Movement{}, apperr.Invalid("reason", "must be at most %d characters", 400)
	case s.acc == nil:
		return accessories.Movement{}, apperr.Invalid("accessory_id", "this server does not keep accessories")
	}
	var m accessories.Movement
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var row stockCheckRow
		if err := tx.Where("id = ? AND site_id = ?", checkID, siteID).Take(&row).Error; err != nil {
			return notFound(err, "stock check %d", checkID)
		}
		check, err := row.check()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(check.Accessories, func(d accessories.Difference) bool { return d.AccessoryID == accessoryID })
		switch {
		case i < 0:
			return apperr.Invalid("accessory_id", "stock check %d did not count accessory %d", checkID, accessoryID)
		case check.Accessories[i].CorrectedBy != nil:
			return apperr.Conflict("already-corrected", "the difference of stock check %d for accessory %d was corrected by movement %d",
				checkID, accessoryID, *check.Accessories[i].CorrectedBy)
		case check.Accessories[i].Difference == 0:
			return apperr.Conflict("no-difference", "stock check %d found what the ledger expected of accessory %d", checkID, accessoryID)
		}
		m, err = s.acc.Move(tx, c, accessories.Line{AccessoryID: accessoryID, SiteID: siteID, Quantity: check.Accessories[i].Difference,
			Kind: accessories.Correction, Reason: fmt.Sprintf("inventaire n° %d : %s", checkID, reason)})
		if err != nil {
			return err
		}
		mid := m.ID
		check.Accessories[i].CorrectedBy = &mid
		result, err := json.Marshal(stockCheckResult{Missing: check.Missing, Unexpected: check.Unexpected, Elsewhere: check.Elsewhere, Seen: check.Seen, Accessories: check.Accessories})
		if err != nil {
			return fmt.Errorf("stock check %d: %w", checkID, err)
		}
		// Compare and swap: a correction made meanwhile leaves the row changed.
		res := tx.Model(&stockCheckRow{}).Where("id = ? AND result = ?", checkID, row.Result).Update("result", string(result))
		if res.Error != nil {
			return fmt.Errorf("stock check %d: %w", checkID, res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("already-corrected", "stock check %d was corrected meanwhile; reload it", checkID)
		}
		return nil
	})
	return m, err
}

func onShelfStates() []State {
	var out []State
	for _, s := range States {
		if s.OnShelf() {
			out = append(out, s)
		}
	}
	return out
}
