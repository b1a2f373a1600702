package distribution_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/partners"
)

// TestFindPeopleFoldsAndScopes: a search finds people whatever the case,
// the accents and the order of the words, only in the caller's
// organisation, with their vouchers counted; vouchers are found by the
// start of their code (dashes optional) or by the person's name, through
// the API too; the voucher form starts from the organisation's last
// voucher.
func TestFindPeopleFoldsAndScopes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ccas := partners.Caller{Role: partners.RolePrescriber, OrganizationID: f.orgs["prescriber"].ID, OrganizationKind: partners.KindPrescriber, Timezone: "Europe/Paris"}
	other := partners.Caller{Role: partners.RolePrescriber, OrganizationID: f.orgs["prescriber2"].ID, OrganizationKind: partners.KindPrescriber, Timezone: "Indian/Reunion"}
	def, err := f.svc.VoucherDefaults(ctx, ccas)
	if err != nil || def.ValidDays != 30 || def.Devices != 1 || len(def.DeviceCategories) != 1 {
		t.Fatalf("a first voucher's defaults: %+v %v", def, err)
	}
	aicha := f.beneficiary("prescriber", map[string]any{"first_name": "Aïcha", "last_name": "Benali-Lefèvre", "birth_year": 1987})
	f.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont"})
	f.beneficiary("prescriber2", map[string]any{"first_name": "Aicha", "last_name": "Benali"})
	v := f.voucher("prescriber", id(aicha), 45)

	for _, q := range []string{"aich", "AICHA", "lefevre", "benali aïcha", "Benali-Lef"} {
		found, err := f.svc.FindPeople(ctx, ccas, q, 10)
		if err != nil || len(found) != 1 || found[0].ID != id(aicha) || found[0].Vouchers != 1 || found[0].ActiveVouchers != 1 {
			t.Fatalf("search %q: %+v %v", q, found, err)
		}
	}
	if found, _ := f.svc.FindPeople(ctx, ccas, "", 10); len(found) != 2 {
		t.Fatalf("no search lists %d people", len(found))
	}
	if found, _ := f.svc.FindPeople(ctx, other, "aicha", 10); len(found) != 1 || found[0].ID == id(aicha) {
		t.Fatalf("another organisation's search: %+v", found)
	}
	if _, err := f.svc.FindPeople(ctx, ccas, strings.Repeat("a", 101), 10); err == nil {
		t.Fatal("a search of 101 letters was read")
	}
	if _, err := f.svc.Person(ctx, other, id(aicha)); err == nil {
		t.Fatal("another organisation read the person")
	}

	code := v["code"].(string)
	for _, q := range []string{code[:4], strings.ToLower(strings.ReplaceAll(code[:9], "-", "")), "lefevre"} {
		l, err := f.svc.ListVouchers(ctx, ccas, distribution.VoucherFilter{Q: q}, pageOf(50))
		if err != nil || len(l.Items) != 1 || l.Items[0].Code != code {
			t.Fatalf("vouchers searched with %q: %+v %v", q, l.Items, err)
		}
	}
	if l, _ := f.svc.ListVouchers(ctx, ccas, distribution.VoucherFilter{Q: "dupont"}, pageOf(50)); len(l.Items) != 0 {
		t.Fatalf("dupont has no voucher, %d found", len(l.Items))
	}
	if l, _ := f.svc.ListVouchers(ctx, other, distribution.VoucherFilter{Q: code[:6]}, pageOf(50)); len(l.Items) != 0 {
		t.Fatal("another organisation found the voucher by its code")
	}
	body := f.http.Do("GET", "/api/v1/vouchers?q=AICHA", f.tokens["prescriber"], nil).Expect(t, 200).Map(t)
	if items := body["items"].([]any); len(items) != 1 {
		t.Fatalf("the API's search: %v", body)
	}

	def, err = f.svc.VoucherDefaults(ctx, ccas)
	if err != nil || def.ValidDays != 45 || def.Devices != 1 || def.Recharges != 2 || strings.Join(def.DeviceCategories, ",") != "smartphone,laptop" {
		t.Fatalf("defaults after a voucher: %+v %v", def, err)
	}
}

func pageOf(n int) paging.Page { return paging.Page{Limit: n} }
