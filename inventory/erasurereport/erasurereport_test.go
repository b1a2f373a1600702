package erasurereport

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func read(t *testing.T, name string) Report {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Read(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// TestNwipeLogs: a passed and a failed nwipe log, as nwipe's summary
// functions write them: method, rounds, result per disk, the whole serials
// from the « Found » lines, the time of the summary.
func TestNwipeLogs(t *testing.T) {
	r := read(t, "nwipe-passed.log")
	e := r.Entries[0]
	if r.Format != "nwipe" || e.Tool != "nwipe" || e.Result != Passed || e.Method != "DoD Short (1R+B+VL)" {
		t.Fatalf("passed log: %+v", e)
	}
	if len(e.Disks) != 1 || e.Disks[0].Serial != "WD-WCAYUJ1234567890XYZ" || e.Disks[0].Model != "WDC WD5000AAKX-0" || e.Disks[0].Device != "sda" {
		t.Fatalf("disks: %+v", e.Disks)
	}
	if e.FinishedAt == nil || e.FinishedAt.Format("2006-01-02 15:04:05") != "2026-12-07 09:26:12" {
		t.Fatalf("finished at %v", e.FinishedAt)
	}
	f := read(t, "nwipe-failed.log").Entries[0]
	if f.Result != Failed || len(f.Disks) != 2 || f.Disks[0].Result != Passed || f.Disks[1].Result != Failed ||
		f.Disks[1].Status != "FAILED" || f.Disks[1].Serial != "Z3T4ABCD" || f.Disks[0].Serial != "S3Z9NB0K123456" {
		t.Fatalf("failed log: %+v", f)
	}
	// A log cut before its summary (the wipe still running) is refused.
	b, _ := os.ReadFile("testdata/nwipe-passed.log")
	cut := string(b)[:strings.Index(string(b), "*** Drive Status")]
	if _, err := Read([]byte(cut + "\n***************** Drive Status ****\n")); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("a log without disks: %v", err)
	}
}

// TestCSVReports: every line read, results in the words tools use; a bad
// line refuses the whole file and names itself.
func TestCSVReports(t *testing.T) {
	r := read(t, "report.csv")
	if r.Format != "csv" || len(r.Entries) != 2 {
		t.Fatalf("csv: %+v", r)
	}
	if e := r.Entries[0]; e.Serial != "PF-2231-XK" || e.Result != Passed || e.Tool != "Blancco Drive Eraser" || e.FinishedAt == nil || e.Line != 2 {
		t.Fatalf("line 2: %+v", e)
	}
	if e := r.Entries[1]; e.Result != Failed || e.FinishedAt.Format("2006-01-02") != "2026-12-06" {
		t.Fatalf("line 3: %+v", e)
	}
	semi, err := Read([]byte("\xef\xbb\xbfserial;method;result;finished_at;tool\r\nX1;Zeros;OK;07/12/2026;outil\r\n"))
	if err != nil || semi.Entries[0].Result != Passed || semi.Entries[0].Serial != "X1" {
		t.Fatalf("a French spreadsheet's export: %+v %v", semi, err)
	}
	_, err = Read([]byte("serial,method,result,finished_at,tool\nA1,Zeros,maybe,2026-12-06,x\n,Zeros,passed,yesterday,x\n"))
	var lines LinesError
	if !errors.As(err, &lines) || len(lines) != 2 || lines[0].Line != 2 || lines[1].Line != 3 || !errors.Is(err, ErrUnreadable) {
		t.Fatalf("bad lines: %v", err)
	}
	if _, err := Read([]byte("serial,method\nA1,Zeros\n")); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "result") {
		t.Fatalf("a header without result: %v", err)
	}
}

// TestGarbageIsRefused: what is no report says what was expected.
func TestGarbageIsRefused(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("%PDF-1.4 garbage"), []byte("\x00\x01\x02\xff"), []byte("hello\nworld\n")} {
		_, err := Read(b)
		if !errors.Is(err, ErrUnreadable) {
			t.Fatalf("%q: %v", b, err)
		}
	}
	if _, err := Read([]byte("hello")); !strings.Contains(err.Error(), "nwipe") || !strings.Contains(err.Error(), "serial,method,result,finished_at,tool") {
		t.Fatalf("the refusal does not say what was expected: %v", err)
	}
}

// FuzzRead: whatever the bytes, Read answers a report or ErrUnreadable,
// never a panic.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"nwipe-passed.log", "nwipe-failed.log", "report.csv"} {
		b, _ := os.ReadFile("testdata/" + name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Read(b)
		if err != nil && !errors.Is(err, ErrUnreadable) {
			t.Fatalf("an error that is not ErrUnreadable: %v", err)
		}
		if err == nil && len(r.Entries) == 0 {
			t.Fatal("a report with no entry")
		}
	})
}
