package distribution_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

var codeShape = regexp.MustCompile(`^[2-9A-HJKMNP-TV-Y]{4}-[2-9A-HJKMNP-TV-Y]{4}-[2-9A-HJKMNP-TV-Y]{4}$`)

func TestBeneficiaries(t *testing.T) {
	f := newFixture(t)
	b := f.beneficiary("prescriber", map[string]any{"first_name": "  Aïcha ", "last_name": "Benali", "birth_year": 1987, "postal_code": "93100"})
	if b["first_name"] != "Aïcha" || b["birth_year"].(float64) != 1987 || b["possible_duplicates"] != nil {
		t.Fatalf("beneficiary %v", b)
	}
	dup := f.beneficiary("prescriber", map[string]any{"first_name": "AICHA", "last_name": "benali", "birth_year": 1987})
	if fmt.Sprint(dup["possible_duplicates"]) != fmt.Sprintf("[%v]", b["id"]) {
		t.Fatalf("duplicate hints %v", dup["possible_duplicates"])
	}
	// Another organisation does not see, nor hint at, this person.
	other := f.beneficiary("prescriber2", map[string]any{"first_name": "Aïcha", "last_name": "Benali", "birth_year": 1987})
	if other["possible_duplicates"] != nil {
		t.Fatalf("hints across organisations: %v", other["possible_duplicates"])
	}
	for _, bad := range []map[string]any{
		{"first_name": "", "last_name": "X"},
		{"first_name": "X"},
		{"first_name": "X", "last_name": "Y", "birth_year": 1850},
		{"first_name": "X", "last_name": "Y", "birth_year": 2999},
		{"first_name": "X", "last_name": "Y", "postal_code": "75 001"},
		{"first_name": strings.Repeat("é", 101), "last_name": "Y"},
	} {
		f.http.Do("POST", "/api/v1/beneficiaries", f.tokens["prescriber"], bad).ExpectProblem(t, 422)
	}
	f.http.Do("POST", "/api/v1/beneficiaries", f.tokens["prescriber"], `{"first_name": 1}`).ExpectProblem(t, 400)
	f.http.Do("POST", "/api/v1/beneficiaries", f.tokens["space"], map[string]any{"first_name": "X", "last_name": "Y"}).ExpectProblem(t, 403)
	f.http.Do("POST", "/api/v1/beneficiaries", f.tokens["admin"], map[string]any{"first_name": "X", "last_name": "Y"}).ExpectProblem(t, 422)
	f.http.Do("POST", "/api/v1/beneficiaries", f.tokens["admin"], map[string]any{"first_name": "X", "last_name": "Y", "organization_id": f.orgs["prescriber"].ID}).Expect(t, 201)

	// Isolation: 404, never 403, never data.
	for _, path := range []string{fmt.Sprintf("/api/v1/beneficiaries/%v", b["id"]), fmt.Sprintf("/api/v1/beneficiaries/%v/export", b["id"])} {
		f.http.Do("GET", path, f.tokens["prescriber"], nil).Expect(t, 200)
		r := f.http.Do("GET", path, f.tokens["prescriber2"], nil)
		r.ExpectProblem(t, 404)
		if strings.Contains(string(r.Body), "Benali") {
			t.Fatal("a 404 carries the person's name")
		}
		f.http.Do("GET", path, f.tokens["admin"], nil).Expect(t, 200)
		f.http.Do("GET", path, f.tokens["space"], nil).ExpectProblem(t, 403)
	}
	var l struct{ Items []map[string]any }
	f.http.Do("GET", "/api/v1/beneficiaries", f.tokens["prescriber2"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("prescriber2 lists %d", len(l.Items))
	}
	f.http.Do("GET", "/api/v1/beneficiaries?q=aicha", f.tokens["prescriber"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("search lists %d", len(l.Items))
	}
}

func TestIssueAndLookUpVoucher(t *testing.T) {
	f := newFixture(t)
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont", "birth_year": 1960})
	v := f.voucher("prescriber", id(b), 30)
	code := v["code"].(string)
	wantUntil := time.Now().In(f.orgs["prescriber"].Location()).AddDate(0, 0, 30).Format(time.DateOnly)
	if !codeShape.MatchString(code) || v["status"] != "active" || v["valid_until"] != wantUntil ||
		fmt.Sprint(v["remaining"]) != "map[devices:1 recharges:2]" {
		t.Fatalf("voucher %v (want valid_until %s)", v, wantUntil)
	}
	for _, bad := range []map[string]any{
		{"beneficiary_id": id(b), "device_categories": []string{"toaster"}, "devices": 1, "valid_days": 30},
		{"beneficiary_id": id(b), "device_categories": []string{}, "devices": 1, "valid_days": 30},
		{"beneficiary_id": id(b), "devices": 0, "recharges": 0, "valid_days": 30},
		{"beneficiary_id": id(b), "recharges": 1, "valid_days": 0},
		{"beneficiary_id": id(b), "recharges": 1, "valid_days": 1000},
		{"beneficiary_id": id(b), "recharges": -1, "valid_days": 10},
		{"recharges": 1, "valid_days": 10},
	} {
		f.http.Do("POST", "/api/v1/vouchers", f.tokens["prescriber"], bad).ExpectProblem(t, 422)
	}
	// Another organisation's beneficiary: 404.
	f.http.Do("POST", "/api/v1/vouchers", f.tokens["prescriber2"], map[string]any{"beneficiary_id": id(b), "recharges": 1, "valid_days": 10}).ExpectProblem(t, 404)
	f.http.Do("POST", "/api/v1/vouchers", f.tokens["space"], map[string]any{"beneficiary_id": id(b), "recharges": 1, "valid_days": 10}).ExpectProblem(t, 403)

	// The counter sees what it needs and no more, whatever form the code was typed in.
	for _, typed := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ReplaceAll(code, "-", "%20")} {
		got := f.http.Do("GET", "/api/v1/vouchers/"+typed, f.tokens["space"], nil).Expect(t, 200)
		m := got.Map(t)
		ben := m["beneficiary"].(map[string]any)
		if m["status"] != "active" || ben["first_name"] != "Jean" || ben["last_initial"] != "D." || ben["birth_year"].(float64) != 1960 ||
			m["organization"].(map[string]any)["name"] != "CCAS de Montreuil" {
			t.Fatalf("lookup %q: %v", typed, m)
		}
		if strings.Contains(string(got.Body), "Dupont") {
			t.Fatal("the counter sees the last name")
		}
	}
	typo := code[:len(code)-1] + string(map[bool]byte{true: '2', false: '3'}[code[len(code)-1] != '2'])
	p := f.http.Do("GET", "/api/v1/vouchers/"+typo, f.tokens["space"], nil).ExpectProblem(t, 422)
	if !strings.Contains(p["detail"].(string), "mistyped") {
		t.Errorf("typo detail %q", p["detail"])
	}
	unknown, _ := distribution.NewCode()
	f.http.Do("GET", "/api/v1/vouchers/"+unknown, f.tokens["space"], nil).ExpectProblem(t, 404)
	f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["prescriber2"], nil).ExpectProblem(t, 404)
	f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["prescriber"], nil).Expect(t, 200)
	f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["warehouse"], nil).ExpectProblem(t, 403)
	f.http.Do("GET", "/api/v1/vouchers/..%2F..%2Fetc%2Fpasswd", f.tokens["space"], nil).ExpectProblem(t, 404)
	f.http.Do("GET", "/api/v1/vouchers/%3Cscript%3E", f.tokens["space"], nil).ExpectProblem(t, 422)

	// The scanner endpoint knows vouchers too.
	s := f.http.Do("GET", "/api/v1/scan/"+strings.ToLower(code), f.tokens["space"], nil).Expect(t, 200).Map(t)
	if s["kind"] != "voucher" || s["voucher"].(map[string]any)["code"] != code {
		t.Fatalf("scan %v", s)
	}
	f.http.Do("GET", "/api/v1/scan/"+unknown, f.tokens["space"], nil).ExpectProblem(t, 404)

	// Lists: the prescriber's own vouchers, with their use.
	var l struct{ Items []map[string]any }
	f.http.Do("GET", "/api/v1/vouchers?status=active", f.tokens["prescriber"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 1 || l.Items[0]["used"] == nil {
		t.Fatalf("list %v", l.Items)
	}
	f.http.Do("GET", "/api/v1/vouchers", f.tokens["prescriber2"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("prescriber2 lists %d vouchers", len(l.Items))
	}
	f.http.Do("GET", "/api/v1/vouchers?status=lost", f.tokens["prescriber"], nil).ExpectProblem(t, 422)
	f.http.Do("GET", "/api/v1/vouchers", f.tokens["space"], nil).ExpectProblem(t, 403)
}

func TestLookupRateLimit(t *testing.T) {
	f := newFixture(t, distribution.LookupLimits{Window: 15 * time.Minute, Max: 3})
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont"})
	code := f.voucher("prescriber", id(b), 30)["code"].(string)
	for range 3 {
		c, _ := distribution.NewCode()
		f.http.Do("GET", "/api/v1/vouchers/"+c, f.tokens["space"], nil).ExpectProblem(t, 404)
	}
	r := f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["space"], nil)
	r.ExpectProblem(t, 429)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Per user: the prescriber is not limited by the space's failures.
	f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["prescriber"], nil).Expect(t, 200)
	// After the window, the space may look up again.
	f.clock.Set(f.clock.Now().Add(16 * time.Minute))
	f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["space"], nil).Expect(t, 200)
	var n int64
	f.db.Table("audit_log").Where("action = 'voucher.lookup_failed'").Count(&n)
	if n != 3 {
		t.Fatalf("%d failed lookups audited", n)
	}
}

// TestExpiryAtTheEndOfTheDayInTheRightZone: a one-day voucher issued in La
// Réunion (UTC+4) is valid until the end of tomorrow, Réunion time.
func TestExpiryAtTheEndOfTheDayInTheRightZone(t *testing.T) {
	f := newFixture(t)
	issued := time.Date(2026, 11, 23, 21, 30, 0, 0, time.UTC) // 01:30 on the 24th in Réunion
	f.clock.Set(issued)
	b := f.beneficiary("prescriber2", map[string]any{"first_name": "Marie", "last_name": "Payet"})
	v := f.voucher("prescriber2", id(b), 1)
	if v["valid_until"] != "2026-11-25" || v["expires_at"] != "2026-11-25T20:00:00Z" {
		t.Fatalf("valid_until %v, expires_at %v", v["valid_until"], v["expires_at"])
	}
	f.clock.Set(time.Date(2026, 11, 25, 19, 59, 59, 0, time.UTC))
	if s := f.http.Do("GET", "/api/v1/vouchers/"+v["code"].(string), f.tokens["space"], nil).Expect(t, 200).Map(t)["status"]; s != "active" {
		t.Fatalf("status at 23:59:59 Réunion: %v", s)
	}
	f.clock.Set(time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC))
	if s := f.http.Do("GET", "/api/v1/vouchers/"+v["code"].(string), f.tokens["space"], nil).Expect(t, 200).Map(t)["status"]; s != "expired" {
		t.Fatalf("status at midnight Réunion: %v", s)
	}
	var l struct{ Items []any }
	f.http.Do("GET", "/api/v1/vouchers?status=expired", f.tokens["prescriber2"], nil).Expect(t, 200).Decode(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("expired list %v", l.Items)
	}
	// Paris issues the same day: end of the day in Paris.
	b2 := f.beneficiary("prescriber", map[string]any{"first_name": "Luc", "last_name": "Morel"})
	f.clock.Set(issued)
	if v := f.voucher("prescriber", id(b2), 1); v["valid_until"] != "2026-11-24" || v["expires_at"] != "2026-11-24T23:00:00Z" {
		t.Fatalf("Paris: %v %v", v["valid_until"], v["expires_at"])
	}
}

func TestRevokeAndRenew(t *testing.T) {
	f := newFixture(t)
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont"})
	v := f.voucher("prescriber", id(b), 30)
	code := v["code"].(string)
	f.http.Do("POST", "/api/v1/vouchers/"+code+"/revoke", f.tokens["prescriber"], map[string]any{"reason": " "}).ExpectProblem(t, 422)
	f.http.Do("POST", "/api/v1/vouchers/"+code+"/revoke", f.tokens["prescriber2"], map[string]any{"reason": "x"}).ExpectProblem(t, 404)
	f.http.Do("POST", "/api/v1/vouchers/"+code+"/revoke", f.tokens["space"], map[string]any{"reason": "x"}).ExpectProblem(t, 403)
	f.http.Do("POST", "/api/v1/vouchers/"+code+"/renew", f.tokens["prescriber2"], map[string]any{"valid_days": 10}).ExpectProblem(t, 404)
	f.http.Do("POST", "/api/v1/vouchers/"+code+"/renew", f.tokens["space"], map[string]any{"valid_days": 10}).ExpectProblem(t, 403)
	r := f.http.Do("POST", "/api/v1/vouchers/"+code+"/revoke", f.tokens["prescriber"], map[string]any{"reason": "bon perdu"}).Expect(t, 200).Map(t)
	if r["status"] != "revoked" || r["revoke_reason"] != "bon perdu" {
		t.Fatalf("revoked %v", r)
	}
	f.http.Do("POST", "/api/v1/vouchers/"+code+"/revoke", f.tokens["prescriber"], map[string]any{"reason": "again"}).ExpectProblem(t, 409)
	if s := f.http.Do("GET", "/api/v1/vouchers/"+code, f.tokens["space"], nil).Expect(t, 200).Map(t)["status"]; s != "revoked" {
		t.Fatalf("counter sees %v", s)
	}

	// Renewing the lost voucher carries what was left.
	if err := f.db.Exec(`UPDATE vouchers SET recharges_used = 1 WHERE code = ?`, strings.ReplaceAll(code, "-", "")).Error; err != nil {
		t.Fatal(err)
	}
	n := f.http.Do("POST", "/api/v1/vouchers/"+code+"/renew", f.tokens["prescriber"], map[string]any{"valid_days": 15}).Expect(t, 201).Map(t)
	if n["code"] == code || n["renewed_from"] != code || n["status"] != "active" || fmt.Sprint(n["remaining"]) != "map[devices:1 recharges:1]" {
		t.Fatalf("renewed %v", n)
	}
	// The counter's plain read of a basket's voucher shows what the lookup
	// shows: its issuer, its person, its predecessor.
	ctx := context.Background()
	looked, err := f.svc.LookupVoucher(ctx, f.seller(), n["code"].(string))
	if err != nil {
		t.Fatal(err)
	}
	basket, err := f.svc.BasketVoucher(ctx, f.seller(), n["code"].(string))
	if err != nil || !reflect.DeepEqual(basket, looked) || basket.RenewedFrom != code || basket.Beneficiary.LastInitial != "D." || basket.Organization == nil {
		t.Fatalf("basket's voucher %+v (%v), lookup's %+v", basket, err, looked)
	}
	if _, err := f.svc.BasketVoucher(ctx, f.seller(), "ZZZZ-ZZZZ-ZZZZ"); !errors.Is(err, apperr.ErrNotFound) && !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("an unknown voucher: %v", err)
	}
	// Renewing an active voucher retires it.
	n2 := f.http.Do("POST", "/api/v1/vouchers/"+n["code"].(string)+"/renew", f.tokens["prescriber"], map[string]any{"valid_days": 60}).Expect(t, 201).Map(t)
	old := f.http.Do("GET", "/api/v1/vouchers/"+n["code"].(string), f.tokens["prescriber"], nil).Expect(t, 200).Map(t)
	if old["status"] != "revoked" || !strings.Contains(old["revoke_reason"].(string), n2["code"].(string)) {
		t.Fatalf("renewed voucher left %v", old)
	}
	f.http.Do("POST", "/api/v1/vouchers/"+n2["code"].(string)+"/renew", f.tokens["prescriber"], map[string]any{"valid_days": 0}).ExpectProblem(t, 422)
	if err := f.db.Exec(`UPDATE vouchers SET status = 'used', devices_used = devices_allowed, recharges_used = recharges_allowed WHERE code = ?`,
		strings.ReplaceAll(n2["code"].(string), "-", "")).Error; err != nil {
		t.Fatal(err)
	}
	f.http.Do("POST", "/api/v1/vouchers/"+n2["code"].(string)+"/renew", f.tokens["prescriber"], map[string]any{"valid_days": 10}).ExpectProblem(t, 409)
}

func TestVoucherPDF(t *testing.T) {
	f := newFixture(t)
	for _, name := range []struct{ first, last string }{{"Ελένη", "Παπαδοπούλου"}, {"محمد", "العلي"}, {"Zoé", "Lefèvre"}} {
		b := f.beneficiary("prescriber", map[string]any{"first_name": name.first, "last_name": name.last})
		code := f.voucher("prescriber", id(b), 30)["code"].(string)
		for _, format := range []string{"a4", "a6"} {
			r := f.http.Do("GET", "/api/v1/vouchers/"+code+"/voucher.pdf?format="+format, f.tokens["prescriber"], nil).Expect(t, 200)
			if testenv.PDFPages(t, r.Body) < 1 {
				t.Fatal("no page")
			}
			kinds := map[string]bool{}
			for _, s := range testenv.DecodePDF(t, r.Body) {
				if s.Data == code {
					kinds[s.Type] = true
				}
			}
			if !kinds["CODE-128"] || !kinds["QR-Code"] {
				t.Errorf("%s %s: code decoded as %v", name.first, format, kinds)
			}
			text := testenv.PDFText(t, r.Body)
			for _, want := range []string{code, "Valable jusqu", "1 appareil (smartphone, ordinateur portable)", "2 recharges", "CCAS de Montreuil",
				"Espace Belleville", "48 rue de Belleville", "Comment faire"} {
				if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
					t.Errorf("%s %s: text lacks %q", name.first, format, want)
				}
			}
			// A Montreuil person is not sent to La Réunion (issue 27, item 16).
			if strings.Contains(text, "Espace du Port") {
				t.Errorf("%s %s: a Montreuil voucher lists La Réunion's space", name.first, format)
			}
			if name.first != "محمد" && !strings.Contains(text, name.first) {
				t.Errorf("first name %s missing", name.first)
			}
			if strings.Contains(text, name.last) {
				t.Errorf("the last name %s is printed", name.last)
			}
		}
		f.http.Do("GET", "/api/v1/vouchers/"+code+"/voucher.pdf?format=letter", f.tokens["prescriber"], nil).ExpectProblem(t, 422)
		f.http.Do("GET", "/api/v1/vouchers/"+code+"/voucher.pdf", f.tokens["prescriber2"], nil).ExpectProblem(t, 404)
	}
}

// TestVoidVoucherPrintsSo: a revoked, expired or used voucher says so across
// its PDF, and a valid one does not.
func TestVoidVoucherPrintsSo(t *testing.T) {
	f := newFixture(t)
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Zoé", "last_name": "Lefèvre"})
	pdfText := func(code string) string {
		r := f.http.Do("GET", "/api/v1/vouchers/"+code+"/voucher.pdf", f.tokens["prescriber"], nil).Expect(t, 200)
		if dir := os.Getenv("TREMPLIN_SCREENSHOTS"); dir != "" {
			testenv.RenderPNG(t, r.Body, 60, dir, "voucher-"+code)
		}
		return strings.Join(strings.Fields(testenv.PDFText(t, r.Body)), " ")
	}
	valid := f.voucher("prescriber", id(b), 30)["code"].(string)
	if text := pdfText(valid); strings.Contains(text, "plus valable") {
		t.Fatalf("a valid voucher prints as void: %s", text)
	}
	revoked := f.voucher("prescriber", id(b), 30)["code"].(string)
	f.http.Do("POST", "/api/v1/vouchers/"+revoked+"/revoke", f.tokens["prescriber"], map[string]any{"reason": "perdu"}).Expect(t, 200)
	expired := f.voucher("prescriber", id(b), 1)["code"].(string)
	used := f.voucher("prescriber", id(b), 30)["code"].(string)
	f.db.Exec(`UPDATE vouchers SET status = 'used', devices_used = devices_allowed, recharges_used = recharges_allowed WHERE code = ?`, strings.ReplaceAll(used, "-", ""))
	f.clock.Set(f.clock.Now().AddDate(0, 0, 3))
	// The word across the page (RÉVOQUÉ...) is drawn rotated, which pdftotext
	// reads letter by letter; the line under the title says it in words.
	for code, want := range map[string]string{revoked: "il a été révoqué", expired: "sa date de validité est passée", used: "il a été entièrement utilisé"} {
		if text := pdfText(code); !strings.Contains(text, "Ce bon n'est plus valable : "+want) {
			t.Errorf("%s: %s", want, text)
		}
	}
}

// TestVoucherListsTheNearestSpaces: a voucher lists the spaces of its
// prescriber's territory, those of the person's département first.
func TestVoucherListsTheNearestSpaces(t *testing.T) {
	spaces := []partners.Organization{
		{Name: "Espace Lyon", Timezone: "Europe/Paris", Address: "1 rue X, 69001 Lyon"},
		{Name: "Espace du Port", Timezone: "Indian/Reunion", Address: "3 rue Y, 97420 Le Port"},
		{Name: "Espace Montreuil", Timezone: "Europe/Paris", Address: "2 rue Z, 93100 Montreuil"},
	}
	got := distribution.NearestSpaces(spaces, "Europe/Paris", "93")
	if len(got) != 2 || got[0].Name != "Espace Montreuil" || got[1].Name != "Espace Lyon" {
		t.Fatalf("Montreuil's spaces: %v", got)
	}
	if got := distribution.NearestSpaces(spaces, "Indian/Reunion", "974"); len(got) != 1 || got[0].Name != "Espace du Port" {
		t.Fatalf("La Réunion's spaces: %v", got)
	}
	if got := distribution.NearestSpaces(spaces, "America/Cayenne", ""); len(got) != 3 {
		t.Fatalf("a territory with no space lists them all: %v", got)
	}
}

// TestVoucherSearchByCodePiece: a piece of a code finds the vouchers whose
// code starts with it, and never the people whose names hold its letters
// ("EA72-4" is no search for "ea" in Béatrice); a piece nobody's code
// starts with finds nothing.
func TestVoucherSearchByCodePiece(t *testing.T) {
	f := newFixture(t)
	b := f.beneficiary("prescriber", map[string]any{"first_name": "Béatrice", "last_name": "Lemaire"})
	for range 2 {
		f.voucher("prescriber", id(b), 30)
	}
	target := f.voucherWith(1, 0)
	f.exec(`UPDATE vouchers SET code = 'EA724BCDEFGH' WHERE code = ?`, strings.ReplaceAll(target, "-", ""))
	search := func(q string) int {
		var l struct{ Items []map[string]any }
		f.http.Do("GET", "/api/v1/vouchers?q="+url.QueryEscape(q), f.tokens["prescriber"], nil).Expect(t, 200).Decode(t, &l)
		return len(l.Items)
	}
	for q, want := range map[string]int{"EA72-4": 1, "ea724b": 1, "6KDT-C": 0, "beatrice": 2, "Béatrice EA72": 2} {
		if got := search(q); got != want {
			t.Errorf("searching %q finds %d vouchers, want %d", q, got, want)
		}
	}
}
