package distribution

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestAlphabet(t *testing.T) {
	if len(alphabet) != 29 {
		t.Fatalf("alphabet of %d", len(alphabet))
	}
	for _, bad := range "01OILUZ" {
		if strings.ContainsRune(alphabet, bad) {
			t.Errorf("alphabet holds the look-alike %q", bad)
		}
	}
	if (12*17)%29 != 1 {
		t.Fatal("17 is not the inverse of 12 modulo 29")
	}
}

func TestThousandCodesDistinctAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if seen[c] {
			t.Fatalf("code %s drawn twice", c)
		}
		seen[c] = true
		if got, err := NormalizeCode(FormatCode(c)); err != nil || got != c {
			t.Fatalf("%s does not pass its own check: %v", c, err)
		}
	}
}

// TestEverySubstitutionCaught replaces each symbol of a few codes by every
// other symbol of the alphabet: the check must fail each time. It also swaps
// every pair of neighbours.
func TestEverySubstitutionCaught(t *testing.T) {
	for range 20 {
		c, _ := NewCode()
		for i := 0; i < len(c); i++ {
			for j := 0; j < len(alphabet); j++ {
				if alphabet[j] == c[i] {
					continue
				}
				typo := c[:i] + string(alphabet[j]) + c[i+1:]
				if _, err := NormalizeCode(typo); !errors.Is(err, ErrCodeMistyped) {
					t.Fatalf("%s → %s (position %d) not caught", c, typo, i)
				}
			}
			if i+1 < len(c) && c[i] != c[i+1] {
				swapped := c[:i] + string(c[i+1]) + string(c[i]) + c[i+2:]
				if _, err := NormalizeCode(swapped); !errors.Is(err, ErrCodeMistyped) {
					t.Fatalf("%s → %s (swap at %d) not caught", c, swapped, i)
				}
			}
		}
	}
}

func TestNormalisation(t *testing.T) {
	c, _ := NewCode()
	f := FormatCode(c)
	for _, typed := range []string{f, strings.ToLower(f), " " + c + " \r\n", strings.ReplaceAll(f, "-", " "), strings.ReplaceAll(f, "-", "."),
		strings.ReplaceAll(strings.ReplaceAll(c, "V", "u"), "2", "z")} {
		if got, err := NormalizeCode(typed); err != nil || got != c {
			t.Errorf("%q → %q, %v; want %s", typed, got, err, c)
		}
	}
	for _, bad := range []string{"", "ABC", c + "2", strings.Replace(c, c[:1], "0", 1), strings.Replace(c, c[:1], "O", 1), "../../etc/passwd", "K7QM-3XPD-9RT☃"} {
		if _, err := NormalizeCode(bad); !errors.Is(err, ErrCodeMistyped) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"K7QM-3XPD-9RTW", "", "zzzz-uuuu-2222", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := NormalizeCode(s)
		if err != nil {
			return
		}
		if len(code) != codeLen {
			t.Fatalf("%q normalised to %q", s, code)
		}
		again, err := NormalizeCode(FormatCode(code))
		if err != nil || again != code {
			t.Fatalf("%q: not stable: %q %v", s, again, err)
		}
	})
}

func FuzzSaleRequest(f *testing.F) {
	for _, s := range []string{
		`{"site_id":1,"voucher_code":"K7QM-3XPD-9RTW","payment_method":"cash","items":[{"device_id":1},{"product_id":2,"quantity":3}]}`,
		`{"items":[{"device_id":1,"product_id":2}]}`, `{"items":[{"product_id":2,"quantity":-1}]}`, `[]`, `{"site_id":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r SaleRequest
		if json.Unmarshal(data, &r) != nil {
			return
		}
		if err := r.check(); err != nil {
			return
		}
		if r.SiteID <= 0 || len(r.Items) == 0 || len(r.Items) > maxItems {
			t.Fatalf("accepted %s", data)
		}
		seen := map[int64]bool{}
		for _, it := range r.Items {
			switch {
			case it.DeviceID > 0:
				if seen[it.DeviceID] || it.ProductID != 0 {
					t.Fatalf("accepted item %+v of %s", it, data)
				}
				seen[it.DeviceID] = true
			case it.ProductID > 0:
				if it.Quantity < 1 {
					t.Fatalf("accepted quantity %d", it.Quantity)
				}
			default:
				t.Fatalf("accepted empty item in %s", data)
			}
		}
		_ = r.hash()
	})
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string][3]int{"24mo": {0, 24, 0}, "24m": {0, 24, 0}, " 2Y ": {2, 0, 0}, "90d": {0, 0, 90}} {
		y, m, d, err := ParseAge(in)
		if err != nil || [3]int{y, m, d} != want {
			t.Errorf("ParseAge(%q) = %d %d %d %v", in, y, m, d, err)
		}
	}
	for _, bad := range []string{"", "15min", "0d", "-3y", "mo", "24", "1e3d", "24h"} {
		if _, _, _, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%q) accepted", bad)
		}
	}
}
