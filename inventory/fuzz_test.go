package inventory

import (
	"strings"
	"testing"
)

func FuzzIMEI(f *testing.F) {
	for _, s := range []string{"356938035643809", "35-693803-564380/9", "", "000000000000000", "35693803564380a", "٣٥٦٩٣٨٠٣٥٦٤٣٨٠٩"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeIMEI(s)
		if ValidIMEI(n) {
			if len(n) != 15 || strings.Trim(n, "0123456789") != "" {
				t.Fatalf("%q accepted as IMEI %q", s, n)
			}
			// Changing any one digit breaks the Luhn check.
			for i := 0; i < 15; i++ {
				d := (n[i]-'0'+1)%10 + '0'
				if ValidIMEI(n[:i] + string(d) + n[i+1:]) {
					t.Fatalf("%s with digit %d changed still passes", n, i)
				}
			}
		}
	})
}

func FuzzScanCode(f *testing.F) {
	for _, s := range []string{"TEL-00042", " tel00042\r\n", "pc-12345", "\x00", strings.Repeat("A", 200), "ÉÀ-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := NormalizeCode(s)
		if strings.ContainsAny(c, " \t\r\n") || c != strings.ToUpper(c) {
			t.Fatalf("%q normalised to %q", s, c)
		}
		if NormalizeCode(c) != c {
			t.Fatalf("normalisation of %q is not stable", s)
		}
	})
}

func FuzzIntakeCSV(f *testing.F) {
	for _, s := range []string{
		"category,brand,model,serial,imei\nsmartphone,Samsung,A52,SN1,356938035643809\n",
		"\ufeffcategory;brand;model\r\nlaptop;Dell;E7470\r\n\r\n",
		"category,brand,model\n\"laptop,Dell,\"E7470\n",
		"", "category\n", "a,b,c\n1,2,3\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseIntake(data)
		if err != nil {
			return
		}
		for _, r := range rows {
			if !r.dev.Category.Valid() || r.dev.Brand == "" || r.dev.Model == "" || r.line < 2 {
				t.Fatalf("accepted a bad row %+v from %q", r, data)
			}
			if r.dev.IMEI != nil && !ValidIMEI(*r.dev.IMEI) {
				t.Fatalf("accepted IMEI %q", *r.dev.IMEI)
			}
		}
	})
}
