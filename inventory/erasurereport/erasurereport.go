// Package erasurereport reads the reports erasure tools write: the log of
// nwipe (and ShredOS, which runs it), and a plain CSV
// (serial,method,result,finished_at,tool) that any other tool's export maps
// to. It knows files, not devices: the inventory decides what a report
// proves about which device.
package erasurereport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Results of an erasure.
const (
	Passed = "passed"
	Failed = "failed"
)

// Disk is one disk a report names, with what the tool says of it.
type Disk struct {
	Device string `json:"device,omitempty"`
	Model  string `json:"model,omitempty"`
	Serial string `json:"serial"`
	Status string `json:"status"`
	Result string `json:"result"`
}

// Entry is what a report says of one erasure: of a device (a CSV line, by
// its serial) or of the disks of one machine (an nwipe log).
type Entry struct {
	// Serial is the device's serial number a CSV line names; "" for an
	// nwipe log, which names disks only.
	Serial     string
	Tool       string
	Method     string
	Result     string
	FinishedAt *time.Time
	Disks      []Disk
	// Line is the CSV line (1-based, header included); 0 for a log.
	Line int
}

// Report is a file read.
type Report struct {
	// Format is "nwipe" or "csv".
	Format  string
	Entries []Entry
}

// ErrUnreadable is a file that is no report this package reads; its text
// says what was expected.
var ErrUnreadable = errors.New("not an erasure report Tremplin can read")

// Expected says which files are read, for a refusal.
const Expected = "an nwipe or ShredOS log (with its « Drive Status » summary) or a CSV with the header serial,method,result,finished_at,tool"

// MaxBytes bounds a report: a day's nwipe log of many disks stays far under.
const MaxBytes = 8 << 20

// Read reads a report, whichever of the known kinds it is.
func Read(b []byte) (Report, error) {
	if len(b) == 0 {
		return Report{}, fmt.Errorf("the file is empty: %w", ErrUnreadable)
	}
	if len(b) > MaxBytes {
		return Report{}, fmt.Errorf("the file is over %d MB: %w", MaxBytes>>20, ErrUnreadable)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		// nwipe writes ASCII; a CSV from a spreadsheet may be Latin-1:
		// serials and results are ASCII either way.
		b = bytes.ToValidUTF8(b, []byte("?"))
	}
	if bytes.Contains(b, []byte("Drive Status")) {
		return readNwipe(b)
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	if h := strings.ToLower(strings.TrimSpace(string(first))); strings.HasPrefix(strings.ReplaceAll(h, ";", ","), "serial,") {
		return readCSV(b)
	}
	return Report{}, fmt.Errorf("%w: expected %s", ErrUnreadable, Expected)
}

var (
	// "      sda | Erased |  120MB/s | 01:25:04 | WDC WD5000AAKX-0/WD-WCAYUJ1234"
	driveRow = regexp.MustCompile(`^(!?)\s*(\S+)\s*\|\s*([^|]{1,10}?)\s*\|\s*([^|]*)\|\s*(\d+:\d\d:\d\d)\s*\|\s*(.*)$`)
	// "[2026/12/07 10:12:33] Total Throughput 240MB/s, DoD Short, 1R+B+VL"
	totalRow = regexp.MustCompile(`^\[(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)\] Total Throughput [^,]*, (.+), (\d+)R\+(N?B)\+(NV|VL|VA)\s*$`)
	// "[2026/12/07 08:01:02]  notice: Found /dev/sda, ATA, WDC WD5000AAKX-0, 500 GB, S/N=WD-WCAYUJ123456"
	foundRow = regexp.MustCompile(`Found (/dev/\S+), [^,]*, (.*), [^,]*, S/N=(.*)$`)
	// "[2026/12/07 08:01:02]  notice: Invoking method 'DoD Short' on /dev/sda"
	invokeRow = regexp.MustCompile(`Invoking method '([^']+)' on`)
)

// readNwipe reads nwipe's log: the « Drive Status » table gives each disk's
// status, the « Total Throughput » line the date, the method, the rounds,
// the blanking and the verification; the « Found » lines the disks' whole
// serial numbers (the table cuts them at 20 characters).
func readNwipe(b []byte) (Report, error) {
	full := map[string]struct{ model, serial string }{}
	var disks []Disk
	var method, passes string
	var finished *time.Time
	inTable := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r ")
		if m := foundRow.FindStringSubmatch(line); m != nil {
			full[strings.TrimPrefix(m[1], "/dev/")] = struct{ model, serial string }{strings.TrimSpace(m[2]), strings.TrimSpace(m[3])}
			continue
		}
		if m := invokeRow.FindStringSubmatch(line); m != nil && method == "" {
			method = m[1]
		}
		if strings.Contains(line, "Drive Status") && strings.HasPrefix(line, "*") {
			inTable, disks = true, nil // the last summary of the log counts
			continue
		}
		if inTable {
			if strings.HasPrefix(line, "*") {
				inTable = false
				continue
			}
			if m := totalRow.FindStringSubmatch(line); m != nil {
				t, err := time.ParseInLocation("2006/01/02 15:04:05", fmt.Sprintf("%s/%s/%s %s:%s:%s", m[1], m[2], m[3], m[4], m[5], m[6]), time.UTC)
				if err == nil {
					t = t.UTC()
					finished = &t
				}
				// Kept in nwipe's own notation: rounds, blanking (B or
				// NB), verification (NV, VL last pass, VA all passes).
				method = m[7]
				passes = fmt.Sprintf("%sR+%s+%s", m[8], m[9], m[10])
				continue
			}
			m := driveRow.FindStringSubmatch(line)
			if m == nil || strings.HasPrefix(strings.TrimSpace(line), "!   Device") {
				continue
			}
			d := Disk{Device: m[2], Status: strings.Trim(m[3], " -")}
			model, serial := m[6], ""
			if i := strings.LastIndex(model, "/"); i >= 0 {
				model, serial = model[:i], model[i+1:]
			}
			d.Model, d.Serial = strings.TrimSpace(model), strings.TrimSpace(serial)
			if f, ok := full[d.Device]; ok && f.serial != "" && strings.HasPrefix(f.serial, d.Serial) {
				d.Serial, d.Model = f.serial, f.model
			}
			d.Result = Failed
			if strings.EqualFold(d.Status, "Erased") && m[1] != "!" {
				d.Result = Passed
			}
			disks = append(disks, d)
		}
	}
	if err := sc.Err(); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if len(disks) == 0 {
		return Report{}, fmt.Errorf("%w: the log has no disk in its « Drive Status » summary (was the wipe finished?)", ErrUnreadable)
	}
	if method == "" {
		return Report{}, fmt.Errorf("%w: the log does not say the method (its « Total Throughput » line is missing)", ErrUnreadable)
	}
	e := Entry{Tool: "nwipe", Method: method, Result: Passed, FinishedAt: finished, Disks: disks}
	if passes != "" {
		e.Method = method + " (" + passes + ")"
	}
	for _, d := range disks {
		if d.Result != Passed {
			e.Result = Failed
		}
	}
	return Report{Format: "nwipe", Entries: []Entry{e}}, nil
}

// LineError is a CSV line that cannot be read.
type LineError struct {
	Line int
	Msg  string
}

// LinesError lists the CSV lines that cannot be read: the whole file is
// refused.
type LinesError []LineError

func (e LinesError) Error() string {
	parts := make([]string, 0, min(len(e), 3))
	for i, l := range e {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("line %d: %s", l.Line, l.Msg))
	}
	return strings.Join(parts, "; ")
}

func (e LinesError) Is(target error) bool { return target == ErrUnreadable }

var csvHeader = []string{"serial", "method", "result", "finished_at", "tool"}

// readCSV reads serial,method,result,finished_at,tool: one line per device
// erased, all or nothing. result is passed or failed (success, ok, erased,
// fail, ko are read too); finished_at a date or an RFC 3339 instant.
func readCSV(b []byte) (Report, error) {
	r := csv.NewReader(bytes.NewReader(b))
	first, _, _ := bytes.Cut(b, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';' // the French spreadsheet's export
	}
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, h := range csvHeader {
		if _, ok := col[h]; !ok {
			return Report{}, fmt.Errorf("%w: the header lacks %q (expected %s)", ErrUnreadable, h, strings.Join(csvHeader, ","))
		}
	}
	var out Report
	out.Format = "csv"
	var bad LinesError
	line := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			bad = append(bad, LineError{line, err.Error()})
			continue
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		e := Entry{Serial: get("serial"), Method: get("method"), Tool: get("tool"), Line: line}
		var problems []string
		if e.Serial == "" {
			problems = append(problems, "serial is empty")
		}
		if e.Method == "" {
			problems = append(problems, "method is empty")
		}
		if e.Tool == "" {
			problems = append(problems, "tool is empty")
		}
		switch strings.ToLower(get("result")) {
		case "passed", "pass", "success", "ok", "erased":
			e.Result = Passed
		case "failed", "fail", "failure", "ko", "error":
			e.Result = Failed
		default:
			problems = append(problems, fmt.Sprintf("result %q is neither passed nor failed", get("result")))
		}
		if f := get("finished_at"); f != "" {
			t, err := parseWhen(f)
			if err != nil {
				problems = append(problems, fmt.Sprintf("finished_at %q is not a date (2026-12-07 or 2026-12-07T10:12:33Z)", f))
			} else {
				e.FinishedAt = &t
			}
		}
		if len(problems) > 0 {
			bad = append(bad, LineError{line, strings.Join(problems, ", ")})
			continue
		}
		out.Entries = append(out.Entries, e)
	}
	if len(bad) > 0 {
		return Report{}, bad
	}
	if len(out.Entries) == 0 {
		return Report{}, fmt.Errorf("%w: the CSV has a header and no line", ErrUnreadable)
	}
	return out, nil
}

func parseWhen(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02", "02/01/2006 15:04", "02/01/2006"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a date")
}
