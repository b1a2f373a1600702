package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/textcheck"
)

// MaxJSONBody bounds a JSON request body.
const MaxJSONBody = 1 << 20

// DecodeJSON reads one JSON object from the body into v. Syntax errors, wrong
// types and trailing data are malformed (400); a body over MaxJSONBody is 413;
// a text field holding a control character is 422, naming the field
// (textcheck: the one check every text field of the API goes through).
func DecodeJSON(c *gin.Context, v any) error {
	if err := DecodeJSONUnchecked(c, v); err != nil {
		return err
	}
	return textcheck.Check(v)
}

// DecodeJSONUnchecked is DecodeJSON without the text check, for credentials:
// a login with a control character is refused as any wrong login is (401),
// by the service.
func DecodeJSONUnchecked(c *gin.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, MaxJSONBody+1))
	if err != nil {
		return fmt.Errorf("read body: %w", apperr.ErrMalformed)
	}
	if len(body) > MaxJSONBody {
		return fmt.Errorf("JSON body over %d bytes: %w", MaxJSONBody, apperr.ErrTooLarge)
	}
	if trimmed := strings.TrimSpace(string(body)); trimmed == "" || trimmed == "null" {
		// null would decode into nothing at all: an empty price grid, say.
		return fmt.Errorf("the request body is empty; a JSON object is expected: %w", apperr.ErrMalformed)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", describeJSONError(err), apperr.ErrMalformed)
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON object: %w", apperr.ErrMalformed)
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return fmt.Sprintf("a JSON object is expected, not %s", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON body ends too early"
	}
	return "invalid JSON: " + err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int32", "int64", "uint", "uint32", "uint64", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}

// PathID parses a positive integer path parameter; anything else is a 404,
// since no record has such an id.
func PathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %q: %w", name, c.Param(name), apperr.ErrNotFound)
	}
	return id, nil
}

// ParsePage reads ?limit= (default 50, at most 500) and ?cursor=.
func ParsePage(c *gin.Context) (paging.Page, error) {
	p, v := ListQuery(c)
	return p, v.Err()
}

// ListQuery reads the page of a list and returns the problems found so far,
// for the list's own filters to add theirs (read ids with QueryID).
func ListQuery(c *gin.Context) (paging.Page, *apperr.ValidationError) {
	p := paging.Page{Limit: 50}
	v := &apperr.ValidationError{}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil || n < 1:
			v.Field("limit", "must be a whole number from 1 to 500")
		case n > 500:
			p.Limit = 500
		default:
			p.Limit = n
		}
	}
	if s := c.Query("cursor"); s != "" {
		id, ok := paging.ParseCursor(s)
		if !ok {
			v.Field("cursor", "is not a cursor this server returned")
		}
		p.AfterID = id
	}
	return p, v
}
