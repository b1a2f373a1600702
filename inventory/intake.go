package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/csvfile"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

const (
	// MaxIntakeBytes bounds an intake file (10,000 lines take about 1 MB).
	MaxIntakeBytes = 16 << 20
	maxIntakeLines = 50_000
	batchSize      = 500
)

// IntakeResult is what a bulk intake registered.
type IntakeResult struct {
	DonationID int64         `json:"donation_id"`
	Imported   int           `json:"imported"`
	Devices    []IntakeEntry `json:"devices"`
}

// IntakeEntry ties a file line to the device it became.
type IntakeEntry struct {
	Line int    `json:"line"`
	ID   int64  `json:"id"`
	Tag  string `json:"tag"`
}

type byLine struct {
	v    *apperr.ValidationError
	line int
}

func (b byLine) add(field, format string, args ...any) {
	b.v.Line(b.line, field+": "+format, args...)
}

type intakeRow struct {
	line int
	dev  NewDevice
}

// Intake registers every device of a CSV file (header
// category,brand,model,serial,imei; comma or semicolon; UTF-8 with or without
// a BOM; CRLF or LF; blank lines ignored) for a donation. All or nothing: any
// bad line and nothing is registered, and every bad line is reported.
func (s *Service) Intake(ctx context.Context, c partners.Caller, donationID int64, body io.Reader) (IntakeResult, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return IntakeResult{}, err
	}
	donation, err := s.donationFor(ctx, c, donationID)
	if err != nil {
		return IntakeResult{}, err
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxIntakeBytes+1))
	if err != nil {
		return IntakeResult{}, fmt.Errorf("read file: %w", apperr.ErrMalformed)
	}
	if len(data) > MaxIntakeBytes {
		return IntakeResult{}, fmt.Errorf("file over %d MB: split it: %w", MaxIntakeBytes>>20, apperr.ErrTooLarge)
	}
	rows, err := parseIntake(data)
	if err != nil {
		return IntakeResult{}, err
	}
	if err := s.checkIntakeAgainstStock(ctx, rows); err != nil {
		return IntakeResult{}, err
	}

	res := IntakeResult{DonationID: donation.ID, Devices: make([]IntakeEntry, 0, len(rows))}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		byCat := map[Category][]int{}
		for i, r := range rows {
			byCat[r.dev.Category] = append(byCat[r.dev.Category], i)
		}
		devices := make([]Device, len(rows))
		for cat, idx := range byCat {
			tags, err := nextTags(tx, cat, len(idx))
			if err != nil {
				return err
			}
			for k, i := range idx {
				devices[i] = s.newDevice(rows[i].dev, donation, tags[k])
			}
		}
		if err := tx.CreateInBatches(&devices, batchSize).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Conflict("duplicate-device", "another device was registered meanwhile with one of these IMEIs or serials; send the file again")
			}
			return fmt.Errorf("register devices: %w", err)
		}
		events := make([]Event, len(devices))
		var fig figures.Tally
		data := mustJSON(map[string]any{"donation_id": donation.ID, "intake": true})
		for i, d := range devices {
			events[i] = Event{DeviceID: d.ID, Action: "register", ToState: Received, At: d.CreatedAt, Data: data, SiteID: &devices[i].SiteID}
			if c.UserID != 0 {
				uid := c.UserID
				events[i].UserID = &uid
			}
			res.Devices = append(res.Devices, IntakeEntry{Line: rows[i].line, ID: d.ID, Tag: d.Tag})
			fig.Move(d.SiteID, "", d.SiteID, string(Received), string(d.Category))
			fig.AddAt(d.CreatedAt, d.SiteID, figures.Intake, string(d.Category), 1, 0)
		}
		if err := tx.CreateInBatches(&events, batchSize).Error; err != nil {
			return fmt.Errorf("record intake events: %w", err)
		}
		return fig.Flush(tx)
	})
	if err != nil {
		return IntakeResult{}, err
	}
	res.Imported = len(res.Devices)
	return res, nil
}

// parseIntake reads and checks every line, collecting every problem.
func parseIntake(data []byte) ([]intakeRow, error) {
	f, err := csvfile.Open(bytes.NewReader(data), csvfile.Spec{Columns: []string{"category", "brand", "model", "serial", "imei"},
		Required: []string{"category", "brand", "model"}, What: "device"})
	if err != nil {
		return nil, err
	}
	v := &apperr.ValidationError{}
	var rows []intakeRow
	seenIMEI := map[string]int{}
	seenSerial := map[string]int{}
	for {
		rec, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var bad *csvfile.LineError
		if errors.As(err, &bad) {
			v.Line(bad.Line, bad.Format, bad.Args...)
			continue
		}
		if err != nil {
			return nil, err
		}
		line := rec.Line
		if len(rows) >= maxIntakeLines {
			v.Line(line, "a file holds at most %d devices: split it", maxIntakeLines)
			break
		}
		d := NewDevice{Category: Category(strings.ToLower(rec.Get("category"))), Brand: rec.Get("brand"), Model: rec.Get("model")}
		if s := rec.Get("serial"); s != "" {
			d.Serial = &s
		}
		if s := rec.Get("imei"); s != "" {
			d.IMEI = &s
		}
		checkDevice(byLine{v, line}, &d)
		if d.IMEI != nil {
			if prev, dup := seenIMEI[*d.IMEI]; dup {
				v.Line(line, "imei: %s is also on line %d", *d.IMEI, prev)
			} else {
				seenIMEI[*d.IMEI] = line
			}
		}
		if d.Serial != nil {
			if prev, dup := seenSerial[*d.Serial]; dup {
				v.Line(line, "serial: %s is also on line %d", *d.Serial, prev)
			} else {
				seenSerial[*d.Serial] = line
			}
		}
		rows = append(rows, intakeRow{line: line, dev: d})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, apperr.Invalid("file", "the file has a header but no device")
	}
	return rows, nil
}

// checkIntakeAgainstStock reports every line whose IMEI or serial a live device
// already holds.
func (s *Service) checkIntakeAgainstStock(ctx context.Context, rows []intakeRow) error {
	v := &apperr.ValidationError{}
	for _, col := range []string{"imei", "serial"} {
		lineOf := map[string]int{}
		var values []string
		for _, r := range rows {
			p := r.dev.IMEI
			if col == "serial" {
				p = r.dev.Serial
			}
			if p != nil {
				lineOf[*p] = r.line
				values = append(values, *p)
			}
		}
		for start := 0; start < len(values); start += batchSize {
			chunk := values[start:min(start+batchSize, len(values))]
			var held []struct {
				Tag   string
				Value string
			}
			if err := s.db.WithContext(ctx).Table("devices").Select("tag, "+col+" AS value").
				Where(col+" IN ? AND state <> 'recycled'", chunk).Scan(&held).Error; err != nil {
				return fmt.Errorf("check %s: %w", col, err)
			}
			for _, h := range held {
				v.Line(lineOf[h.Value], "%s: %s is already held by device %s", col, h.Value, h.Tag)
			}
		}
	}
	if err := v.Err(); err != nil {
		sortLines(v)
		return err
	}
	return nil
}

func sortLines(v *apperr.ValidationError) {
	sort.SliceStable(v.Errors, func(i, j int) bool { return v.Errors[i].Line < v.Errors[j].Line })
}
