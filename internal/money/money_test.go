package money

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{
		"35": 3500, "35,5": 3550, "35,50 €": 3550, "35.50": 3550, " 1 234,50 ": 123450, "1\u202f234,50\u202f€": 123450, "0": 0, "0,05": 5,
	} {
		if got, ok := Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "€", "abc", "35,505", "-3", "35,-5", "1,2,3", "12.5.1", "2000000", "+5"} {
		if got, ok := Parse(in); ok {
			t.Errorf("Parse(%q) = %d, accepted", in, got)
		}
	}
}
