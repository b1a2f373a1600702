// Package textcheck is the one check every text field goes through before it
// reaches a database: no control characters (PostgreSQL refuses NUL, SQLite
// would store it, and neither belongs in a name, a note or a code), and
// valid UTF-8. Line breaks and tabs are allowed where text may span lines.
package textcheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Message is what a person is told about such a field.
const Message = "contains a control character or invalid text (such as a NUL byte); type it again"

// Clean tells whether s is valid UTF-8 without control characters other than
// tab, line feed and carriage return.
func Clean(s string) bool { return clean(s, true) }

// CleanLine is Clean without line breaks or tabs: for one-line values such as
// query parameters, codes and emails.
func CleanLine(s string) bool { return clean(s, false) }

func clean(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && !(multiline && (c == '\t' || c == '\n' || c == '\r')) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		if r >= 0x80 && r <= 0x9f { // C1 controls
			return false
		}
		i += size
	}
	return true
}

// Check walks a decoded request (structs with json tags, maps, slices,
// pointers) and records every string that is not Clean, by its JSON path
// (name, specs.ram, items[2].serial).
func Check(v any) error {
	ve := &apperr.ValidationError{}
	walk(reflect.ValueOf(v), "", ve)
	return ve.Err()
}

func walk(v reflect.Value, path string, ve *apperr.ValidationError) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, ve)
		}
	case reflect.String:
		if !Clean(v.String()) {
			ve.Field(path, Message)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				walk(v.Field(i), path, ve) // embedded fields are the outer object's, as encoding/json reads them
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			walk(v.Field(i), join(path, name), ve)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			key := fmt.Sprint(k.Interface())
			if k.Kind() == reflect.String && !Clean(k.String()) {
				ve.Field(join(path, strings.ToValidUTF8(strings.Map(visible, key), "?")), "the name "+Message)
				continue
			}
			walk(iter.Value(), join(path, key), ve)
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawJSON {
			var x any
			if len(v.Bytes()) > 0 && json.Unmarshal(v.Bytes(), &x) == nil {
				walk(reflect.ValueOf(x), path, ve)
			}
			return
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes are no text
		}
		for i := range v.Len() {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), ve)
		}
	}
}

var rawJSON = reflect.TypeFor[json.RawMessage]()

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// visible replaces control characters so that a field name can be shown.
func visible(r rune) rune {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
		return '?'
	}
	return r
}

// NameMessage is what a person is told about a name that CleanName refuses.
const NameMessage = "may hold letters, digits, spaces and punctuation only, without invisible or direction-changing characters"

// CleanName is the one rule for a name shown to people (a person's, an
// organisation's, a product's, a device's brand and model): valid UTF-8 of
// letters, combining marks, digits, punctuation, symbols and spaces. A
// control or format character is refused: a right-to-left override
// (U+202E) or a zero-width joiner makes a name read as another on screen
// and on paper.
func CleanName(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
			return false
		}
	}
	return true
}
