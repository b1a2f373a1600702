// Package problem is the one place where errors become HTTP answers: RFC 9457
// problem+json for the API. Unknown errors are logged and answered with a
// generic 500 that reveals nothing.
package problem

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tremplin/tremplin/internal/apperr"
)

// ContentType is the media type of every error answer.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
	RequestID string              `json:"request_id,omitempty"`

	retryAfter int // seconds, for 429
}

type kind struct {
	sentinel error
	status   int
	slug     string
	title    string
}

var kinds = []kind{
	{apperr.ErrMalformed, http.StatusBadRequest, "malformed-request", "Malformed request"},
	{apperr.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Authentication required"},
	{apperr.ErrForbidden, http.StatusForbidden, "forbidden", "Not allowed for your role"},
	{apperr.ErrNotFound, http.StatusNotFound, "not-found", "Not found"},
	{apperr.ErrConflict, http.StatusConflict, "conflict", "Conflict with the current state"},
	{apperr.ErrTooLarge, http.StatusRequestEntityTooLarge, "too-large", "Request too large"},
	{apperr.ErrUnsupportedMedia, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"},
	{apperr.ErrInvalid, http.StatusUnprocessableEntity, "invalid-input", "Invalid input"},
	{apperr.ErrRateLimited, http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	{apperr.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
}

// TypeURI is the problem type for a slug.
func TypeURI(slug string) string { return "/problems/" + slug }

// From maps an error to its problem. The bool is false for an unexpected
// error (a 500), which the caller should log.
func From(err error) (Problem, bool) {
	for _, k := range kinds {
		if !errors.Is(err, k.sentinel) {
			continue
		}
		// The sentinel's words are already in the title; keep the context.
		detail := strings.TrimSuffix(err.Error(), ": "+k.sentinel.Error())
		p := Problem{Type: TypeURI(k.slug), Title: k.title, Status: k.status, Detail: detail}
		var v *apperr.ValidationError
		if errors.As(err, &v) {
			p.Errors = v.Listed()
			if v.Code != "" {
				p.Type = TypeURI(v.Code)
			}
		}
		var c *apperr.ConflictError
		if errors.As(err, &c) && c.Code != "" {
			p.Type = TypeURI(c.Code)
		}
		var r *apperr.RateLimitError
		if errors.As(err, &r) {
			p.retryAfter = int(math.Ceil(r.RetryAfter.Seconds()))
		}
		var b *apperr.BusyError
		if errors.As(err, &b) {
			p.retryAfter = int(math.Ceil(b.RetryAfter.Seconds()))
		}
		return p, true
	}
	if isBadText(err) {
		// The HTTP layer refuses such text first; this is the net under it.
		return Problem{Type: TypeURI("invalid-input"), Title: "Invalid input", Status: http.StatusUnprocessableEntity,
			Detail: "a text holds a character that cannot be stored (such as a NUL byte)"}, true
	}
	if IsBusy(err) {
		return Problem{Type: TypeURI("unavailable"), Title: "Service unavailable", Status: http.StatusServiceUnavailable,
			Detail: "the database is busy with another write; try again in a moment"}, true
	}
	if isUnavailable(err) {
		return Problem{Type: TypeURI("unavailable"), Title: "Service unavailable", Status: http.StatusServiceUnavailable,
			Detail: "the database cannot be reached; try again shortly"}, true
	}
	return Problem{Type: TypeURI("internal"), Title: "Internal error", Status: http.StatusInternalServerError,
		Detail: "something went wrong on our side; it has been logged"}, false
}

// isBadText recognises PostgreSQL refusing a text's bytes.
func isBadText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.CharacterNotInRepertoire || pgErr.Code == pgerrcode.UntranslatableCharacter)
}

// IsUnavailable tells whether err means the database cannot be reached now:
// a 503 to retry, for the API and the pages alike.
func IsUnavailable(err error) bool {
	return errors.Is(err, apperr.ErrUnavailable) || isUnavailable(err)
}

// IsBusy tells a request refused for the load of the moment: a capacity
// refused (apperr.BusyError), or SQLite's one writer still held by another
// when the wait ran out (SQLITE_BUSY, SQLITE_LOCKED): a 503 to retry in a
// moment, never a 500.
func IsBusy(err error) bool {
	if errors.As(err, new(*apperr.BusyError)) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return true
		}
	}
	return false
}

// SQLite's primary result codes for a lock it could not get.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// isUnavailable recognises a database that is down or restarting: those are
// 503s to retry, not bugs.
func isUnavailable(err error) bool {
	if IsBusy(err) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	// A connection lost in the middle of a statement (the server killed, the
	// link cut): pgx says the socket's end, bare while reading rows, or that
	// the connection is closed. An upload cut short never gets here: the
	// HTTP layer calls it malformed first.
	var connLevel interface{ SafeToRetry() bool }
	if errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &connLevel) && errors.Is(err, io.EOF)) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown, crash, cannot connect now.
		return pgerrcode.IsConnectionException(pgErr.Code) || pgErr.Code == pgerrcode.AdminShutdown ||
			pgErr.Code == pgerrcode.CrashShutdown || pgErr.Code == pgerrcode.CannotConnectNow
	}
	return false
}

// unavailableRetry is the Retry-After of a 503 that says no better: a
// database restart or a failover takes seconds.
const unavailableRetry = 5

// Write sends err as problem+json with the request id, logging unexpected
// errors with their cause and the request's route (its pattern: a path
// may hold a voucher's code).
func Write(w http.ResponseWriter, r *http.Request, route string, logger *slog.Logger, requestID string, err error) {
	p, known := From(err)
	p.RequestID = requestID
	if !known {
		logger.ErrorContext(r.Context(), "request failed", "error", err.Error(),
			"method", r.Method, "route", route, "request_id", requestID)
	}
	Send(w, p)
}

// Send writes a problem as it is.
func Send(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	if p.retryAfter == 0 && p.Status == http.StatusServiceUnavailable {
		p.retryAfter = unavailableRetry
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.WriteHeader(p.Status)
	_ = writeJSON(w, p)
}
