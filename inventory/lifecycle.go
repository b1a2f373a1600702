package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// rule is one action of the lifecycle: the states it starts from (or, when
// from is empty, every state but those in except), where it leads, and who
// may take it. This table holds the actions people take on one device;
// three other moves change a device's state, each in its own transaction
// with the same conditional update and event: a transfer (ready → in_transit
// → in_stock or back to ready/returned at a warehouse, transfers.go), a sale
// (in_stock → sold, sell.go) and a refund (sold → returned, sell.go).
type rule struct {
	from   []State
	except []State
	to     State
	roles  []partners.Role
}

// MayDo says whether the caller's role may take a device through action at
// all (its state decides the rest): the pages offer only what may be done.
func MayDo(c partners.Caller, action string) bool {
	r, ok := lifecycle[action]
	return ok && c.Is(r.roles...)
}

var lifecycle = map[string]rule{
	"diagnose":       {from: []State{Received, InRepair, Returned}, to: Diagnosed, roles: WarehouseRoles},
	"erase":          {from: []State{Diagnosed}, to: Erased, roles: WarehouseRoles},
	"send_to_repair": {from: []State{Diagnosed, Erased}, to: InRepair, roles: WarehouseRoles},
	"mark_ready":     {from: []State{Erased, Diagnosed}, to: Ready, roles: WarehouseRoles},
	"recycle":        {except: []State{Sold, InTransit, Recycled, Lost}, to: Recycled, roles: WarehouseRoles},
	"mark_lost":      {except: []State{Sold, Lost, Recycled}, to: Lost, roles: []partners.Role{partners.RoleAdmin}},
}

// Actions lists the lifecycle actions.
func Actions() []string {
	out := make([]string, 0, len(lifecycle))
	for a := range lifecycle {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// permits tells whether action may be taken on d now: the table, and a
// device found locked may be diagnosed again (its donor released the lock:
// a new check) while diagnosed or erased, and is never made ready while
// locked.
func permits(action string, d Device) bool {
	locked := d.Locks != nil && len(d.Locks.Locked()) > 0
	switch {
	case action == "diagnose" && locked && (d.State == Diagnosed || d.State == Erased):
		return true
	case action == "mark_ready" && locked:
		return false
	}
	return lifecycle[action].allows(d.State)
}

func (r rule) allows(s State) bool {
	if len(r.from) > 0 {
		return slices.Contains(r.from, s)
	}
	return !slices.Contains(r.except, s)
}

// Transition is the input of Apply: an action and the fields it takes.
type Transition struct {
	Action     string  `json:"action"`
	Grade      *string `json:"grade"`
	Notes      *string `json:"notes"`
	Method     *string `json:"method"`
	Result     *string `json:"result"`
	PriceCents *int64  `json:"price_cents"`
	Reason     *string `json:"reason"`
	Recycler   *string `json:"recycler"`
	// Locks are a diagnosis's lock checks: required for the categories
	// that can be locked to someone (NeedsLockCheck).
	Locks *Locks `json:"locks"`
}

// OrEmpty is the text p points at, or "" for none.
func OrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

// Apply moves a device through its lifecycle, in one transaction: the state is
// changed by a conditional update (so that of two racing requests exactly one
// wins) and an event is appended. A failed erasure keeps the device diagnosed
// and is recorded.
func (s *Service) Apply(ctx context.Context, c partners.Caller, id int64, t Transition) (Device, error) {
	r, ok := lifecycle[t.Action]
	if !ok {
		return Device{}, apperr.Invalid("action", "must be one of %s", strings.Join(Actions(), ", "))
	}
	if err := c.Require(r.roles...); err != nil {
		return Device{}, fmt.Errorf("%s: %w", t.Action, err)
	}
	var dev Device
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Scopes(ownSiteDevices(c)).Where("devices.id = ?", id).Take(&dev).Error; err != nil {
			return notFound(err, "device %d", id)
		}
		_, err := s.transition(tx, c, &dev, t, nil)
		return err
	})
	return dev, err
}

// transition takes an action on a device loaded in tx: the state changed
// by a conditional update and the event appended, with evidence (an
// erasure report's hash, say) added to its data. dev is reloaded.
func (s *Service) transition(tx *gorm.DB, c partners.Caller, dev *Device, t Transition, evidence map[string]any) (Event, error) {
	r := lifecycle[t.Action]
	if !r.allows(dev.State) && !permits(t.Action, *dev) {
		return Event{}, apperr.Conflict("invalid-transition", "device %s is %s: %s is not possible from that state", dev.Tag, dev.State, t.Action)
	}
	changes, data, to, err := s.plan(tx, *dev, t)
	if err != nil {
		return Event{}, err
	}
	for k, v := range evidence {
		data[k] = v
	}
	from := dev.State
	changes["state"] = to
	changes["updated_at"] = s.now()
	res := tx.Model(&Device{}).Where("id = ? AND state = ?", dev.ID, from).Updates(changes)
	if res.Error != nil {
		return Event{}, fmt.Errorf("%s device %s: %w", t.Action, dev.Tag, res.Error)
	}
	if res.RowsAffected != 1 {
		return Event{}, apperr.Conflict("invalid-transition", "device %s changed while you were working on it; reload it", dev.Tag)
	}
	var fig figures.Tally
	e, err := s.recordEvent(tx, &fig, c, *dev, dev.SiteID, t.Action, from, to, data)
	if err != nil {
		return e, err
	}
	if err := fig.Flush(tx); err != nil {
		return e, err
	}
	return e, tx.Where("id = ?", dev.ID).Take(dev).Error
}

// plan checks an action's fields against the device and returns the columns
// to change, the event data and the state reached.
func (s *Service) plan(tx *gorm.DB, dev Device, t Transition) (map[string]any, map[string]any, State, error) {
	v := &apperr.ValidationError{}
	changes := map[string]any{}
	data := map[string]any{}
	to := lifecycle[t.Action].to
	if n := OrEmpty(t.Notes); n != "" {
		data["notes"] = n
	}
	switch t.Action {
	case "diagnose":
		g := strings.ToUpper(OrEmpty(t.Grade))
		if !ValidGrade(g) {
			v.Field("grade", "must be A, B, C or D")
		}
		changes["grade"] = g
		data["grade"] = g
		if dev.State == Erased {
			to = Erased // a new lock check keeps the erasure done
		}
		if t.Locks == nil && NeedsLockCheck(dev.Category) {
			v.Field("locks", "are required for a %s: account, mdm, firmware and blocklist, each clear, locked or not_applicable", dev.Category)
		}
		if t.Locks != nil {
			locks := t.Locks.normalized()
			for _, k := range LockKinds {
				if r := locks.Get(k.Key); !validLock(r) {
					v.Field("locks."+k.Key, "must be clear, locked or not_applicable")
				}
			}
			b, _ := json.Marshal(locks)
			changes["locks"] = string(b)
			data["locks"] = locks
		}
	case "erase":
		method := OrEmpty(t.Method)
		if method == "" || len([]rune(method)) > 200 {
			v.Field("method", "is required (the tool or standard used, e.g. \"NIST 800-88 Purge\"), at most 200 characters")
		}
		result := OrEmpty(t.Result)
		if result != "passed" && result != "failed" {
			v.Field("result", "must be passed or failed")
		}
		data["method"], data["result"] = method, result
		if result == "failed" {
			to = dev.State // recorded, but the device stays diagnosed
		} else {
			changes["erased_at"] = s.now()
			changes["erasure_method"] = method
		}
	case "mark_ready":
		if dev.Locks != nil {
			if locked := dev.Locks.Locked(); len(locked) > 0 {
				return nil, nil, "", apperr.Conflict("device-locked",
					"device %s is locked (%s): ask the donor to release it, quoting serial %s, then diagnose it again", dev.Tag, lockList(locked), QuoteSerial(dev))
			}
		}
		if dev.State == Diagnosed && dev.Category != Other {
			return nil, nil, "", apperr.Conflict("erasure-required",
				"device %s is diagnosed, not erased: a %s's data must be erased, and the erasure pass, before it is ready", dev.Tag, dev.Category)
		}
		if dev.Grade == nil {
			return nil, nil, "", apperr.Conflict("grade-required", "device %s has no grade: diagnose it first", dev.Tag)
		}
		price := t.PriceCents
		if price == nil {
			p, found, err := gridPrice(tx, dev.Category, *dev.Grade)
			if err != nil {
				return nil, nil, "", err
			}
			if !found {
				v.Field("price_cents", "is required: the price grid has no price for %s grade %s", dev.Category, *dev.Grade)
			}
			price = &p
		}
		if *price < 0 || *price > maxPriceCents {
			v.Field("price_cents", "must be between 0 and %d", maxPriceCents)
		}
		changes["price_cents"] = *price
		data["price_cents"] = *price
	case "recycle":
		reason := OrEmpty(t.Reason)
		if reason == "" {
			v.Field("reason", "is required (why the device is recycled rather than reused)")
		}
		data["reason"] = reason
		if r := OrEmpty(t.Recycler); r != "" {
			data["recycler"] = r
		}
	case "mark_lost":
		reason := OrEmpty(t.Reason)
		if reason == "" {
			v.Field("reason", "is required")
		}
		data["reason"] = reason
	}
	for k, val := range data {
		if s, ok := val.(string); ok && len([]rune(s)) > 2000 {
			v.Field(k, "must be at most 2000 characters")
		}
	}
	return changes, data, to, v.Err()
}

// QuoteSerial is what a donor needs to find a device in their fleet: its
// IMEI, else its serial number, else its tag.
func QuoteSerial(d Device) string {
	switch {
	case d.IMEI != nil && *d.IMEI != "":
		return *d.IMEI
	case d.Serial != nil && *d.Serial != "":
		return *d.Serial
	}
	return d.Tag
}
