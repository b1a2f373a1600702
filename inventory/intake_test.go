package inventory_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/tremplin/tremplin/internal/testenv"
)

func (f *fixture) intake(user string, donation int64, csv string) *testenv.Response {
	f.t.Helper()
	return f.HTTP.Do("POST", fmt.Sprintf("/api/v1/donations/%d/devices", donation), f.Tokens[user], csv, "Content-Type", "text/csv")
}

func deviceCount(f *fixture, donation int64) int64 {
	var n int64
	f.DB.Table("devices").Where("donation_id = ?", donation).Count(&n)
	return n
}

func TestIntakeFormats(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	cases := map[string]string{
		"comma, LF": "category,brand,model,serial,imei\nsmartphone,Samsung,A52,SN1," + imei(1) + "\nlaptop,Dell,Latitude 5490,SN2,\n",
		"BOM, semicolon, CRLF, blank lines": "\ufeffcategory;brand;model;serial;imei\r\n\r\nsmartphone;Apple;iPhone 8;SN3;" + imei(2) +
			"\r\n;;;;\r\ntablet;Apple;iPad 6;SN4;\r\n\r\n",
		"columns in another order, quoted":         "IMEI,Model,Brand,Category\n" + imei(3) + ",\"Galaxy S9, 64 Go\",Samsung,smartphone\n",
		"no trailing newline, no optional columns": "category,brand,model\nother,Logitech,Clavier K120",
	}
	want := map[string]int{"comma, LF": 2, "BOM, semicolon, CRLF, blank lines": 2, "columns in another order, quoted": 1, "no trailing newline, no optional columns": 1}
	for name, csv := range cases {
		t.Run(name, func(t *testing.T) {
			r := f.intake("warehouse", don, csv).Expect(t, 201).Map(t)
			if int(r["imported"].(float64)) != want[name] {
				t.Fatalf("imported %v, want %d", r["imported"], want[name])
			}
		})
	}
	var model string
	f.DB.Raw(`SELECT model FROM devices WHERE imei = ?`, imei(3)).Scan(&model)
	if model != "Galaxy S9, 64 Go" {
		t.Fatalf("quoted cell read as %q", model)
	}
	if n := deviceCount(f, don); n != 6 {
		t.Fatalf("%d devices", n)
	}
}

func TestIntakeRejectsEveryBadLineAndImportsNothing(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	f.device(don, map[string]any{"imei": imei(50), "serial": "HELD-1"})
	csv := strings.Join([]string{
		"category,brand,model,serial,imei",
		"smartphone,Samsung,A52,OK-1," + imei(10), // line 2: fine
		"toaster,Moulinex,X,,",                    // 3: category
		"smartphone,,A52,,",                       // 4: brand
		"smartphone,Samsung,A52,,356938035643808", // 5: Luhn
		"smartphone,Samsung,A52,," + imei(10),     // 6: IMEI repeated in the file
		"laptop,Dell,E7470,held-1,",               // 7: serial held by a live device
		"smartphone,Samsung,A52,," + imei(50),     // 8: IMEI held by a live device
		"laptop,Dell,E7470,OK-2,,extra",           // 9: too many cells
		"laptop,Dell,\"E7470,",                    // 10: broken quote
	}, "\n") + "\n"
	p := f.intake("warehouse", don, csv).ExpectProblem(t, 422)
	lines := map[int]string{}
	for _, e := range p["errors"].([]any) {
		m := e.(map[string]any)
		lines[int(m["line"].(float64))] += m["message"].(string) + " "
	}
	// The line checks stop the file before the stock checks run, so lines 7
	// and 8 are reported once the file itself is clean (below).
	for _, l := range []int{3, 4, 5, 6, 9, 10} {
		if lines[l] == "" {
			t.Errorf("line %d not reported; reported: %v", l, lines)
		}
	}
	if lines[2] != "" {
		t.Errorf("good line 2 reported: %s", lines[2])
	}
	if !strings.Contains(lines[6], "also on line 2") {
		t.Errorf("line 6: %s", lines[6])
	}
	if n := deviceCount(f, don); n != 1 {
		t.Fatalf("%d devices after a refused file, want the 1 registered before", n)
	}

	held := "category,brand,model,serial,imei\nsmartphone,Samsung,A52,,\nlaptop,Dell,E7470,held-1,\nsmartphone,Samsung,A52,," + imei(50) + "\n"
	p = f.intake("warehouse", don, held).ExpectProblem(t, 422)
	msg := string(mustJSON(p["errors"]))
	if !strings.Contains(msg, `"line":3`) || !strings.Contains(msg, `"line":4`) || !strings.Contains(msg, "already held by device TEL-00001") {
		t.Fatalf("held IMEI or serial not reported by line: %s", msg)
	}
	if n := deviceCount(f, don); n != 1 {
		t.Fatalf("%d devices after a refused file", n)
	}

	for name, bad := range map[string]string{
		"bare quote":     "category,brand,model\nlaptop,Dell,E\"7470\nlaptop,Dell,E7470\n",
		"empty":          "",
		"header only":    "category,brand,model\n",
		"missing column": "category,brand\nsmartphone,Samsung\n",
		"unknown column": "category,brand,model,colour\nsmartphone,Samsung,A52,noir\n",
	} {
		if r := f.intake("warehouse", don, bad); r.Status != 422 {
			t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
		}
	}
	f.intake("space", don, "category,brand,model\nother,a,b\n").ExpectProblem(t, 403)
	f.intake("warehouse2", don, "category,brand,model\nother,a,b\n").ExpectProblem(t, 404)
	f.intake("warehouse", 424242, "category,brand,model\nother,a,b\n").ExpectProblem(t, 404)
}

func TestIntakeTenThousandLines(t *testing.T) {
	t.Parallel() // heavy, and on its own database: let it overlap with the others
	f := newFixture(t)
	don := f.donation()
	var b strings.Builder
	b.WriteString("category;brand;model;serial;imei\r\n")
	for i := range 10000 {
		cat := []string{"smartphone", "laptop", "tablet", "feature_phone"}[i%4]
		im := ""
		if cat == "smartphone" || cat == "feature_phone" {
			im = imei(100000 + i)
		}
		fmt.Fprintf(&b, "%s;Marque %d;Modèle %d;SER%06d;%s\r\n", cat, i%7, i%13, i, im)
	}
	r := f.intake("warehouse", don, b.String()).Expect(t, 201).Map(t)
	if r["imported"].(float64) != 10000 || len(r["devices"].([]any)) != 10000 {
		t.Fatalf("imported %v", r["imported"])
	}
	var tags, events int64
	f.DB.Raw(`SELECT COUNT(DISTINCT tag) FROM devices WHERE donation_id = ?`, don).Scan(&tags)
	f.DB.Raw(`SELECT COUNT(*) FROM device_events e JOIN devices d ON d.id = e.device_id WHERE d.donation_id = ? AND e.action = 'register'`, don).Scan(&events)
	if tags != 10000 || events != 10000 {
		t.Fatalf("%d distinct tags, %d events for 10000 devices", tags, events)
	}
	first := r["devices"].([]any)[0].(map[string]any)
	if first["line"].(float64) != 2 || first["tag"] != "TEL-00001" {
		t.Fatalf("first entry %v", first)
	}
}

// TestIntakeOfAWindowsFile: a file as French Excel saves it (Windows-1252,
// semicolons) is stored with its accents; UTF-16 with its mark likewise.
// Before, « Galaxy é » was stored as « Galaxy � » and UTF-16 was refused as
// an unknown column.
func TestIntakeOfAWindowsFile(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	latin1, err := charmap.Windows1252.NewEncoder().String("category;brand;model;serial\nsmartphone;Samsung;Galaxy é;WIN-1\n")
	if err != nil {
		t.Fatal(err)
	}
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String("category,brand,model,serial\ntablet,Archos,Œuvre 10,WIN-2\n")
	f.intake("warehouse", don, latin1).Expect(t, 201)
	f.intake("warehouse", don, utf16).Expect(t, 201)
	for serial, want := range map[string]string{"WIN-1": "Galaxy é", "WIN-2": "Œuvre 10"} {
		var model string
		f.DB.Raw(`SELECT model FROM devices WHERE serial = ?`, serial).Scan(&model)
		if model != want {
			t.Errorf("%s: model stored as %q, want %q", serial, model, want)
		}
	}
}
