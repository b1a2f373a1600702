package recharges_test

// Tests for the holes an attack found (issue 10): each failed before its fix.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/api"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

// stickyReader gives the start of a file, then the same read error forever,
// as a connection cut mid-upload or a body over its limit does.
type stickyReader struct {
	head  *strings.Reader
	err   error
	reads int
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.head.Len() > 0 {
		return s.head.Read(p)
	}
	s.reads++
	return 0, s.err
}

// TestImportEndsOnReadError: a read error ends the import, answered and
// rolled back. Before the fix the reader took every error but EOF for a bad
// line and read again, forever, one core per aborted upload.
func TestImportEndsOnReadError(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"connection cut", io.ErrUnexpectedEOF, apperr.ErrMalformed},
		{"body over its limit", &http.MaxBytesError{Limit: 1 << 20}, apperr.ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &stickyReader{head: strings.NewReader(cards(1, 50, future(90)) + "SER-HALF,PIN"), err: c.err}
			done := make(chan error, 1)
			go func() {
				_, err := f.Recharges.Import(context.Background(), admin, p, f.Orgs["warehouse"].ID, r, nil)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, c.want) {
					t.Fatalf("error %v, want %v", err, c.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the import still runs 10 s after the read error (%d reads so far)", r.reads)
			}
			if r.reads > 3 {
				t.Fatalf("the reader was read %d times after its error", r.reads)
			}
			if n := f.units("available"); n != 0 {
				t.Fatalf("%d cards stored from a cut file", n)
			}
		})
	}
}

// TestAbortedUploadIsAnswered sends a Content-Length larger than the body and
// resets the connection: the request ends (it is logged), and the next
// import goes through (on SQLite the write lock was held for good before the
// fix).
func TestAbortedUploadIsAnswered(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	u, _ := url.Parse(f.HTTP.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	body := cards(1, 100, future(90))
	fmt.Fprintf(conn, "POST /api/v1/recharge-batches?product_id=%d&site_id=%d HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s", p, f.Orgs["warehouse"].ID, u.Host, f.Tokens["warehouse"], len(body)*10, body)
	time.Sleep(100 * time.Millisecond)
	// A reset, as a dropped mobile connection gives: every later read of the
	// body fails the same way.
	_ = conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(f.Logs.String(), `"route":"/api/v1/recharge-batches"`) {
		if time.Now().After(deadline) {
			t.Fatal("the aborted upload was never answered nor logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.importCards("warehouse", p, "warehouse", cards(1, 10, future(90))).Expect(t, 201)
	if n := f.units("available"); n != 10 {
		t.Fatalf("%d cards after the good import", n)
	}
}

// TestUploadOverLimitIsAnswered streams an operator file of unknown length
// past the body limit: 413, in bounded time, nothing stored, and the next
// import goes through. Before, the body limit's error repeated on every read
// and the import never ended.
func TestUploadOverLimitIsAnswered(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	(&api.Recharges{Service: f.Recharges, MaxRechargeBytes: 4096}).Routes(e.Group("/api/v1", api.RequireAuth(f.Partners)))
	h := testenv.NewHTTP(t, e)
	pr, pw := io.Pipe()
	go func() {
		// Unknown length (chunked), so the limit is met while reading.
		_, _ = io.WriteString(pw, cards(1, 1000, future(90)))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/recharge-batches?product_id=%d&site_id=%d", h.URL, p, f.Orgs["warehouse"].ID), pr)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+f.Tokens["warehouse"])
	h.Client.Timeout = 10 * time.Second
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatalf("no answer to a file over the limit: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	f.importCards("warehouse", p, "warehouse", cards(1, 10, future(90))).Expect(t, 201)
	if n := f.units("available"); n != 10 {
		t.Fatalf("%d cards after the good import", n)
	}
}

// TestCSVFormulasAreInert: an operator's serial that a spreadsheet would
// run (=1+1, @SUM(1)) is refused at import, line by line; a product name
// such as -2+3 reaches the sold report with a leading quote. Before, both
// went into the report as they were.
func TestCSVFormulasAreInert(t *testing.T) {
	f := newFixture(t)
	bad := "serial,pin,expires_on\n=1+1,1234,2099-01-01\n@SUM(1),1234,2099-01-01\nSER 1,1234,2099-01-01\n"
	r := f.importCards("warehouse", f.product(0), "warehouse", bad)
	p := r.ExpectProblem(t, 422)
	if errs, _ := p["errors"].([]any); len(errs) != 3 {
		t.Fatalf("errors %v", p["errors"])
	}
	product := id(f.HTTP.Do("POST", "/api/v1/recharge-products", f.Tokens["admin"], map[string]any{"operator_id": f.Orgs["operator"].ID,
		"name": "-2+3", "face_value_cents": 1000, "price_cents": 200}).Expect(t, 201).Map(t))
	f.importCards("warehouse", product, "warehouse", cards(1, 2, future(30))).Expect(t, 201)
	f.allocate(product, "warehouse", 1)
	month := time.Now().UTC().Format("2006-01")
	report := f.HTTP.Do("GET", fmt.Sprintf("/api/v1/recharge-reports/sold?operator_id=%d&month=%s", f.Orgs["operator"].ID, month), f.Tokens["admin"], nil).Expect(t, 200)
	if !strings.Contains(string(report.Body), "\nSER00000001,'-2+3,1000,") {
		t.Fatalf("report:\n%s", report.Body)
	}
}

// TestImportKeepsTheWriterFree: while an operator's file is still arriving
// (the upload stalls half-way), other writes go through at once, on SQLite
// as on PostgreSQL; the import then completes, all or nothing. Before, a
// SQLite import held the one writer from its first line: a sale during a
// long import waited 15 s, then failed with 500 « database is locked ».
func TestImportKeepsTheWriterFree(t *testing.T) {
	f := newFixture(t)
	p := f.product(0)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	warehouse := partners.Caller{UserID: f.Users["warehouse"].ID, Role: partners.RoleWarehouse, OrganizationID: f.Orgs["warehouse"].ID, OrganizationKind: partners.KindWarehouse}
	go func() {
		_, err := f.Recharges.Import(context.Background(), warehouse, p, f.Orgs["warehouse"].ID, pr, nil)
		done <- err
	}()
	lines := strings.Split(strings.TrimSuffix(cards(1, 4000, future(60)), "\n"), "\n")
	if _, err := io.WriteString(pw, strings.Join(lines[:2001], "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	// The import is staging; a write of another kind must not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	other := f.HTTP.Do("POST", "/api/v1/recharge-products", f.Tokens["admin"], map[string]any{"operator_id": f.Orgs["operator"].ID,
		"name": "Forfait pendant l'import", "face_value_cents": 500, "price_cents": 100})
	if other.Status != 201 || ctx.Err() != nil {
		t.Fatalf("a write during the import: %d %s (%v)", other.Status, other.Body, ctx.Err())
	}
	select {
	case err := <-done:
		t.Fatalf("the import ended before its file: %v", err)
	default:
	}
	if _, err := io.WriteString(pw, strings.Join(lines[2001:], "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var n int64
	f.DB.Table("recharge_units").Where("product_id = ?", p).Count(&n)
	if n != 4000 {
		t.Fatalf("%d cards stored of 4000", n)
	}
}
