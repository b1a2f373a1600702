package apperr

import (
	"errors"
	"strings"
	"testing"
)

func TestValidationErrorIsBounded(t *testing.T) {
	v := &ValidationError{}
	for i := range 2500 {
		v.Line(i+2, "serial %s is also on line %d", "A", i+1)
	}
	if len(v.Errors) != MaxListed || v.Omitted != 1500 || v.Count() != 2500 {
		t.Fatalf("%d listed, %d omitted", len(v.Errors), v.Omitted)
	}
	listed := v.Listed()
	if len(listed) != MaxListed+1 || !strings.Contains(listed[MaxListed].Message, "1500 more") {
		t.Fatalf("last entry %+v", listed[len(listed)-1])
	}
	if msg := v.Error(); len(msg) > 300 || !strings.Contains(msg, "and 2497 more") {
		t.Fatalf("error text of %d bytes: %s", len(msg), msg)
	}
	if !errors.Is(v.Err(), ErrInvalid) {
		t.Fatal("not ErrInvalid")
	}
	// The message keeps its format and arguments, for a page to translate.
	e := v.Errors[0]
	if e.Key != "serial %s is also on line %d" || len(e.Args) != 2 || e.Message != "serial A is also on line 1" {
		t.Fatalf("%+v", e)
	}
}
