package textcheck

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tremplin/tremplin/internal/apperr"
)

func TestClean(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "Jean-François Œuvre 35 €": true, "ligne 1\nligne 2\r\n\tfin": true, "日本語": true,
		"a\x00b": false, "\x07": false, "\x1b[31m": false, "\x7f": false, "a\u0085b": false, "\xff\xfe": false, "\xc3\x28": false,
	} {
		if got := Clean(s); got != want {
			t.Errorf("Clean(%q) = %v", s, got)
		}
	}
	if CleanLine("a\nb") || CleanLine("a\tb") || !CleanLine("TEL-00042") {
		t.Error("CleanLine takes line breaks")
	}
}

func TestCheckNamesEveryField(t *testing.T) {
	type item struct {
		Serial string `json:"serial"`
	}
	type embedded struct {
		Note *string `json:"note"`
	}
	type req struct {
		embedded
		Name   string            `json:"name"`
		Items  []item            `json:"items"`
		Labels map[string]string `json:"labels"`
		Specs  json.RawMessage   `json:"specs"`
		Skip   string            `json:"-"`
		Count  int               `json:"count"`
	}
	note := "nul\x00"
	err := Check(req{embedded: embedded{Note: &note}, Name: "ok", Items: []item{{"A"}, {"B\x1b"}},
		Labels: map[string]string{"x": "\x07"}, Specs: json.RawMessage(`{"ram":"4\u0000Go","ok":[1,"fine"]}`), Skip: "\x00"})
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("error %v", err)
	}
	got := map[string]bool{}
	for _, e := range ve.Errors {
		got[e.Field] = true
	}
	for _, f := range []string{"note", "items[1].serial", "labels.x", "specs.ram"} {
		if !got[f] {
			t.Errorf("%s not named: %v", f, ve.Errors)
		}
	}
	if len(ve.Errors) != 4 {
		t.Errorf("errors %v", ve.Errors)
	}
	if Check(req{Name: "Jean\nDupont", Specs: json.RawMessage(`{}`)}) != nil {
		t.Error("a clean request refused")
	}
}
