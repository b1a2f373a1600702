package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/inventory/erasurereport"
	"github.com/tremplin/tremplin/partners"
)

// ErasureReport is a report an erasure tool wrote, kept as uploaded with
// its SHA-256, and the erasure it recorded.
type ErasureReport struct {
	ID         int64                `json:"id"`
	DeviceID   int64                `json:"device_id"`
	EventID    *int64               `json:"-"`
	Tool       string               `json:"tool"`
	Method     string               `json:"method"`
	Result     string               `json:"result"`
	Disks      []erasurereport.Disk `json:"disks" gorm:"serializer:json;type:text"`
	FinishedAt *time.Time           `json:"finished_at"`
	Filename   string               `json:"filename"`
	SHA256     string               `json:"sha256" gorm:"column:sha256"`
	Size       int64                `json:"size"`
	Content    []byte               `json:"-"`
	UploadedBy *int64               `json:"uploaded_by"`
	CreatedAt  time.Time            `json:"created_at"`
}

// reportColumns are a report's columns but its file, for lists.
var reportColumns = []string{"id", "device_id", "event_id", "tool", "method", "result", "disks", "finished_at", "filename", "sha256", "size", "uploaded_by", "created_at"}

// RecordedReport is what an upload recorded: the report and the device
// after its erasure.
type RecordedReport struct {
	ErasureReport
	Device Device `json:"device"`
}

// ReportFile is an uploaded report.
type ReportFile struct {
	Name  string
	Bytes []byte
}

// unreadable turns a file the reader refuses into a 422 that says what was
// expected, each bad CSV line listed.
func unreadable(err error) error {
	v := &apperr.ValidationError{}
	var lines erasurereport.LinesError
	if errors.As(err, &lines) {
		for _, l := range lines {
			v.Line(l.Line, "%s", l.Msg)
		}
		return v
	}
	if errors.Is(err, erasurereport.ErrUnreadable) {
		v.Field("file", "this file is not an erasure report Tremplin can read: expected %s (%s)", erasurereport.Expected, err.Error())
		return v
	}
	return err
}

// sameSerial compares serial numbers as scanners and tools write them.
func sameSerial(a, b string) bool {
	a, b = NormalizeSerial(a), NormalizeSerial(b)
	return a != "" && a == b
}

// names tells whether a report's entry is about d: a CSV line by the
// device's serial, IMEI or tag; a log by a disk serial equal to the
// device's, or to a disk an earlier report of the device named.
func names(e erasurereport.Entry, d Device, knownDisks []string) bool {
	for _, id := range []string{deref(d.Serial, ""), deref(d.IMEI, ""), d.Tag} {
		if e.Serial != "" && sameSerial(e.Serial, id) {
			return true
		}
		for _, disk := range e.Disks {
			if sameSerial(disk.Serial, id) {
				return true
			}
		}
	}
	for _, disk := range e.Disks {
		for _, k := range knownDisks {
			if sameSerial(disk.Serial, k) {
				return true
			}
		}
	}
	return false
}

// UploadErasureReport reads a report for one device and records the erasure
// it proves (passed, or failed: the device stays diagnosed with the failure
// recorded), keeping the file and its hash, in one transaction. A CSV must
// name the device; an nwipe log, uploaded for this device, is its disks'.
// 422 for a file it cannot read (nothing changes), 409 when the device is
// not diagnosed.
func (s *Service) UploadErasureReport(ctx context.Context, c partners.Caller, deviceID int64, f ReportFile) (RecordedReport, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return RecordedReport{}, fmt.Errorf("erasure report: %w", err)
	}
	rep, err := erasurereport.Read(f.Bytes)
	if err != nil {
		return RecordedReport{}, unreadable(err)
	}
	var out RecordedReport
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		var dev Device
		if err := tx.Scopes(ownSiteDevices(c)).Where("devices.id = ?", deviceID).Take(&dev).Error; err != nil {
			return notFound(err, "device %d", deviceID)
		}
		entry, ok := rep.Entries[0], rep.Format == "nwipe"
		for _, e := range rep.Entries {
			if rep.Format == "csv" && names(e, dev, nil) {
				entry, ok = e, true
			}
		}
		if !ok {
			return apperr.Invalid("file", "the report names %s, not device %s (serial %s)", reportSerials(rep), dev.Tag, QuoteSerial(dev))
		}
		r, err := s.recordReport(tx, c, &dev, f, entry)
		out = RecordedReport{ErasureReport: r, Device: dev}
		return err
	})
	return out, err
}

// recordReport records one entry of a report for a device loaded in tx.
func (s *Service) recordReport(tx *gorm.DB, c partners.Caller, dev *Device, f ReportFile, e erasurereport.Entry) (ErasureReport, error) {
	if dev.State != Diagnosed {
		return ErasureReport{}, apperr.Conflict("invalid-transition", "device %s is %s: an erasure report is recorded for a diagnosed device", dev.Tag, dev.State)
	}
	sum := sha256.Sum256(f.Bytes)
	r := ErasureReport{DeviceID: dev.ID, Tool: e.Tool, Method: e.Method, Result: e.Result, Disks: e.Disks, FinishedAt: e.FinishedAt,
		Filename: cleanFilename(f.Name), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(f.Bytes)), Content: f.Bytes,
		UploadedBy: c.UserRef(), CreatedAt: s.now()}
	if r.Disks == nil {
		r.Disks = []erasurereport.Disk{}
	}
	method := e.Method
	if !strings.Contains(strings.ToLower(method), strings.ToLower(e.Tool)) {
		method = e.Tool + " · " + method
	}
	method = truncate(method, 200)
	ev, err := s.transition(tx, c, dev, Transition{Action: "erase", Method: &method, Result: &r.Result},
		map[string]any{"report_sha256": r.SHA256, "tool": e.Tool})
	if err != nil {
		return r, err
	}
	r.EventID = &ev.ID
	if err := tx.Create(&r).Error; err != nil {
		return r, fmt.Errorf("keep the erasure report of %s: %w", dev.Tag, err)
	}
	return r, nil
}

func reportSerials(rep erasurereport.Report) string {
	var s []string
	for _, e := range rep.Entries {
		if e.Serial != "" {
			s = append(s, e.Serial)
		}
		for _, d := range e.Disks {
			s = append(s, d.Serial)
		}
		if len(s) > 5 {
			return strings.Join(s[:5], ", ") + "…"
		}
	}
	return strings.Join(s, ", ")
}

func cleanFilename(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 32 || r == 127 {
			return -1
		}
		return r
	}, name)
	if name == "" {
		name = "rapport"
	}
	return truncate(name, 200)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// ErasureReports lists a device's reports, newest first, without their files.
func (s *Service) ErasureReports(ctx context.Context, c partners.Caller, deviceID int64) ([]ErasureReport, error) {
	if _, err := s.GetDevice(ctx, c, deviceID); err != nil {
		return nil, err
	}
	out := []ErasureReport{}
	if err := s.db.WithContext(ctx).Select(reportColumns).Where("device_id = ?", deviceID).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("erasure reports of device %d: %w", deviceID, err)
	}
	return out, nil
}

// ErasureReportFile is a report with its file, as uploaded.
func (s *Service) ErasureReportFile(ctx context.Context, c partners.Caller, deviceID, reportID int64) (ErasureReport, error) {
	if _, err := s.GetDevice(ctx, c, deviceID); err != nil {
		return ErasureReport{}, err
	}
	var r ErasureReport
	if err := s.db.WithContext(ctx).Where("id = ? AND device_id = ?", reportID, deviceID).Take(&r).Error; err != nil {
		return r, notFound(err, "erasure report %d of device %d", reportID, deviceID)
	}
	return r, nil
}

// DonationReportResult is what a donation's reports did: the erasures
// recorded, and the entries that matched no device of the donation or
// could not be recorded, each with why.
type DonationReportResult struct {
	Recorded []RecordedReport `json:"recorded"`
	Skipped  []SkippedEntry   `json:"skipped"`
}

// SkippedEntry is an entry of a report that recorded nothing.
type SkippedEntry struct {
	File   string `json:"file"`
	Serial string `json:"serial"`
	Reason string `json:"reason"`
	// Key and Args say Reason in the reader's language.
	Key  string `json:"-"`
	Args []any  `json:"-"`
}

// UploadDonationReports reads several reports at once for a donation's
// devices, each entry matched to a device by the serials it names. A file
// it cannot read refuses them all (422, nothing recorded); an entry that
// names no device of the donation, or a device not diagnosed, is listed.
func (s *Service) UploadDonationReports(ctx context.Context, c partners.Caller, donationID int64, files []ReportFile) (DonationReportResult, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
		return DonationReportResult{}, fmt.Errorf("erasure reports: %w", err)
	}
	if len(files) == 0 {
		return DonationReportResult{}, apperr.Invalid("file", "choose one or more report files")
	}
	reports := make([]erasurereport.Report, len(files))
	v := &apperr.ValidationError{}
	for i, f := range files {
		rep, err := erasurereport.Read(f.Bytes)
		if err != nil {
			v.Field("file", "%s: %s", cleanFilename(f.Name), err.Error())
			continue
		}
		reports[i] = rep
	}
	if err := v.Err(); err != nil {
		return DonationReportResult{}, err
	}
	if _, err := s.GetDonation(ctx, c, donationID); err != nil {
		return DonationReportResult{}, err
	}
	out := DonationReportResult{Recorded: []RecordedReport{}, Skipped: []SkippedEntry{}}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var devices []Device
		if err := tx.Scopes(ownSiteDevices(c)).Where("devices.donation_id = ?", donationID).Find(&devices).Error; err != nil {
			return fmt.Errorf("devices of donation %d: %w", donationID, err)
		}
		known := map[int64][]string{}
		var earlier []ErasureReport
		if err := tx.Select("device_id", "disks").Where("device_id IN (SELECT id FROM devices WHERE donation_id = ?)", donationID).Find(&earlier).Error; err != nil {
			return fmt.Errorf("earlier reports of donation %d: %w", donationID, err)
		}
		for _, r := range earlier {
			for _, d := range r.Disks {
				known[r.DeviceID] = append(known[r.DeviceID], d.Serial)
			}
		}
		skip := func(file, serial, key string, args ...any) {
			out.Skipped = append(out.Skipped, SkippedEntry{File: file, Serial: serial, Reason: fmt.Sprintf(key, args...), Key: key, Args: args})
		}
		for i, rep := range reports {
			name := cleanFilename(files[i].Name)
			for _, e := range rep.Entries {
				serial := e.Serial
				if serial == "" {
					serial = reportSerials(erasurereport.Report{Entries: []erasurereport.Entry{e}})
				}
				var match *Device
				for j := range devices {
					if names(e, devices[j], known[devices[j].ID]) {
						match = &devices[j]
						break
					}
				}
				if match == nil {
					skip(name, serial, "no device of this donation has this serial number")
					continue
				}
				if match.State != Diagnosed {
					skip(name, serial, "%s is %s: only a diagnosed device's erasure is recorded", match.Tag, match.State)
					continue
				}
				r, err := s.recordReport(tx, c, match, files[i], e)
				if err != nil {
					return err
				}
				out.Recorded = append(out.Recorded, RecordedReport{ErasureReport: r, Device: *match})
			}
		}
		return nil
	})
	return out, err
}
