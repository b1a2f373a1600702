// Package apperr holds the error kinds that domain code returns and that one
// place (internal/problem) turns into HTTP answers. Domain code wraps a
// sentinel with context ("organization 12: %w") and never speaks HTTP.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	ErrMalformed       = errors.New("malformed request")
	ErrUnauthenticated = errors.New("not authenticated")
	ErrForbidden       = errors.New("not allowed for this role")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict with the current state")
	ErrInvalid         = errors.New("invalid input")
	ErrTooLarge        = errors.New("request too large")
	ErrRateLimited     = errors.New("too many requests")
	ErrUnavailable     = errors.New("service unavailable")
	// ErrUnsupportedMedia is a body of a kind the route does not take (a
	// file sent where no file is expected).
	ErrUnsupportedMedia = errors.New("unsupported media type")
)

// FieldError is one problem with one field, or one line of an uploaded file.
type FieldError struct {
	Field   string `json:"field,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	// Key and Args are the message before formatting (its English format
	// string, a stable key, and its arguments), so that a page can say it in
	// the reader's language from a catalogue.
	Key  string `json:"-"`
	Args []any  `json:"-"`
}

// MaxListed bounds the problems one answer lists: a file of a million bad
// lines gets the first thousand and a count, not an answer larger than it.
const MaxListed = 1000

// ValidationError collects every problem with an input, so that a person can
// fix them all at once. It matches ErrInvalid.
type ValidationError struct {
	Errors []FieldError
	// Omitted counts the problems past MaxListed, recorded but not listed.
	Omitted int
	// Code, when set, is the problem's type instead of invalid-input (such
	// as "notifications-off"): a client can tell that case apart.
	Code string
}

// Field records a problem with a named field.
func (v *ValidationError) Field(field, format string, args ...any) {
	v.add(FieldError{Field: field}, format, args)
}

// Line records a problem with a line of an uploaded file (1-based, header included).
func (v *ValidationError) Line(line int, format string, args ...any) {
	v.add(FieldError{Line: line}, format, args)
}

func (v *ValidationError) add(e FieldError, format string, args []any) {
	if len(v.Errors) >= MaxListed {
		v.Omitted++
		return
	}
	e.Message, e.Key, e.Args = fmt.Sprintf(format, args...), format, args
	v.Errors = append(v.Errors, e)
}

// Count is the number of problems recorded, listed or not.
func (v *ValidationError) Count() int { return len(v.Errors) + v.Omitted }

// Listed is every listed problem, with a last entry that counts the others
// when there are more than MaxListed.
func (v *ValidationError) Listed() []FieldError {
	if v.Omitted == 0 {
		return v.Errors
	}
	return append(v.Errors[:len(v.Errors):len(v.Errors)], FieldError{Field: "file",
		Message: fmt.Sprintf("%d more problems not listed; fix these and send it again", v.Omitted)})
}

// Err returns nil when nothing was recorded, and the error otherwise.
func (v *ValidationError) Err() error {
	if v.Count() == 0 {
		return nil
	}
	return v
}

// shownInError is how many problems the error's text names: the full list
// is in Errors, the text stays short (it becomes the problem's detail).
const shownInError = 3

func (v *ValidationError) Error() string {
	parts := make([]string, 0, shownInError+1)
	for i, e := range v.Errors {
		if i == shownInError {
			parts = append(parts, fmt.Sprintf("and %d more", v.Count()-shownInError))
			break
		}
		switch {
		case e.Field != "":
			parts = append(parts, e.Field+": "+e.Message)
		case e.Line > 0:
			parts = append(parts, fmt.Sprintf("line %d: %s", e.Line, e.Message))
		default:
			parts = append(parts, e.Message)
		}
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

func (v *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid is a one-field ValidationError.
func Invalid(field, format string, args ...any) error {
	v := &ValidationError{}
	v.Field(field, format, args...)
	return v
}

// InvalidBecause is a one-field ValidationError with its own problem type.
func InvalidBecause(code, field, format string, args ...any) error {
	v := &ValidationError{Code: code}
	v.Field(field, format, args...)
	return v
}

// ConflictError is a conflict with a machine-readable reason, such as
// "device-unavailable", that becomes the problem type. It matches ErrConflict.
type ConflictError struct {
	Code   string
	Detail string
	// Cause, when set, lets callers test for a domain sentinel with errors.Is.
	Cause error
	// Key and Args are Detail before formatting, for a page to say it in
	// the reader's language.
	Key  string
	Args []any
}

func (c *ConflictError) Error() string        { return c.Detail }
func (c *ConflictError) Is(target error) bool { return target == ErrConflict }
func (c *ConflictError) Unwrap() error        { return c.Cause }

// Conflict builds a ConflictError: the one way to say a request conflicts
// with the current state.
func Conflict(code, format string, args ...any) error {
	return &ConflictError{Code: code, Detail: fmt.Sprintf(format, args...), Key: format, Args: args}
}

// ConflictBecause is Conflict with a domain sentinel that callers may test
// with errors.Is.
func ConflictBecause(cause error, code, format string, args ...any) error {
	return &ConflictError{Code: code, Detail: fmt.Sprintf(format, args...), Cause: cause, Key: format, Args: args}
}

// RateLimitError says when to try again. It matches ErrRateLimited.
type RateLimitError struct {
	RetryAfter time.Duration
	Detail     string
}

func (r *RateLimitError) Error() string        { return r.Detail }
func (r *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// BusyError is a request refused because the server is at capacity for it
// now: a 503 saying when to try again. It matches ErrUnavailable.
type BusyError struct {
	RetryAfter time.Duration
	Detail     string
}

func (b *BusyError) Error() string        { return b.Detail }
func (b *BusyError) Is(target error) bool { return target == ErrUnavailable }
