package problem

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tremplin/tremplin/internal/apperr"
)

func TestMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
		typ    string
		detail string
	}{
		{fmt.Errorf("organization 12: %w", apperr.ErrNotFound), 404, "/problems/not-found", "organization 12"},
		{apperr.Invalid("name", "is required"), 422, "/problems/invalid-input", "invalid input: name: is required"},
		{fmt.Errorf("sell: %w", apperr.Conflict("device-unavailable", "device T-1 is sold")), 409, "/problems/device-unavailable", "sell: device T-1 is sold"},
		{&apperr.RateLimitError{RetryAfter: 90 * time.Second, Detail: "slow down"}, 429, "/problems/rate-limited", "slow down"},
		{fmt.Errorf("query: %w", &pgconn.PgError{Code: "57P01"}), 503, "/problems/unavailable", ""},
		{errors.New("pq: secret table exploded"), 500, "/problems/internal", ""},
	}
	for _, c := range cases {
		p, _ := From(c.err)
		if p.Status != c.status || p.Type != c.typ || (c.detail != "" && p.Detail != c.detail) {
			t.Errorf("%v → %+v, want %d %s %q", c.err, p, c.status, c.typ, c.detail)
		}
	}
}

func TestUnknownErrorIsLoggedNotShown(t *testing.T) {
	var logs bytes.Buffer
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x", nil)
	Write(w, r, "/x", slog.New(slog.NewTextHandler(&logs, nil)), "rid-1", errors.New("relation users_secret does not exist"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "users_secret") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "users_secret") || !strings.Contains(logs.String(), "rid-1") {
		t.Fatalf("not logged: %s", logs.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != ContentType {
		t.Fatalf("content type %q", ct)
	}
}

func TestRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, httptest.NewRequest("GET", "/", nil), "/", slog.Default(), "", &apperr.RateLimitError{RetryAfter: 1500 * time.Millisecond, Detail: "wait"})
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("%d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

// sqliteError has the driver's shape: a result code, extended codes in its
// upper bits.
type sqliteError int

func (e sqliteError) Error() string { return "database is locked" }
func (e sqliteError) Code() int     { return int(e) }

// TestBusyDatabaseIsA503: SQLite's writer still held when the wait ran out
// (SQLITE_BUSY and its extended codes, SQLITE_LOCKED) is a 503 with
// Retry-After, never a 500; another result code stays unexpected.
func TestBusyDatabaseIsA503(t *testing.T) {
	for _, code := range []int{5, 5 | 2<<8, 6} {
		w := httptest.NewRecorder()
		Write(w, httptest.NewRequest("POST", "/", nil), "/", slog.Default(), "", fmt.Errorf("store sale: %w", sqliteError(code)))
		if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "busy") {
			t.Errorf("code %d: %d %q %s", code, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if p, known := From(sqliteError(19)); known || p.Status != 500 { // SQLITE_CONSTRAINT
		t.Errorf("a constraint error: %d known=%v", p.Status, known)
	}
}
