package partners_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/partners"
)

// TestAccountsTheAdminPagesLeanOn: a generated password is shown once and
// logs in, a reset one ends the person's sessions, logging out everywhere
// ends every token of the caller and no one else's, and a site's label
// stock is checked and kept to its own staff.
func TestAccountsTheAdminPagesLeanOn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	spaceID := f.orgs["space"].ID
	u, pw, err := f.svc.CreateUserWithPassword(ctx, admin, partners.NewUser{Email: "nouvelle@example.org", Name: "Nouvelle", Role: partners.RoleSpace, OrganizationID: &spaceID})
	if err != nil || len(pw) != 14 {
		t.Fatalf("created %+v with %q: %v", u, pw, err)
	}
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "nouvelle@example.org", "password": pw}).Expect(t, 200)
	if _, _, err := f.svc.CreateUserWithPassword(ctx, admin, partners.NewUser{Email: "x@example.org", Name: "X", Role: partners.RolePrescriber, OrganizationID: &spaceID}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("a prescriber at a space: %v", err)
	}

	// A reset: the old token ends, the new password works; only admins.
	old := f.login("space")
	space := f.users["space"]
	if _, _, err := f.svc.ResetPassword(ctx, partners.Caller{Role: partners.RoleSpace, UserID: space.ID, OrganizationID: spaceID}, f.users["space-colleague"].ID); !errors.Is(err, apperr.ErrForbidden) {
		t.Fatalf("space staff reset a colleague's password: %v", err)
	}
	_, fresh, err := f.svc.ResetPassword(ctx, admin, space.ID)
	if err != nil || fresh == f.pw {
		t.Fatalf("reset: %q %v", fresh, err)
	}
	f.http.Do("GET", "/api/v1/me", old, nil).Expect(t, 401)
	f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "space@example.org", "password": fresh}).Expect(t, 200)

	// Logging out everywhere ends the caller's tokens, not a colleague's.
	mine1, mine2, colleague := f.login("warehouse"), f.login("warehouse"), f.login("space-colleague")
	wh := f.users["warehouse"]
	if err := f.svc.LogoutEverywhere(ctx, partners.Caller{UserID: wh.ID, Role: partners.RoleWarehouse}); err != nil {
		t.Fatal(err)
	}
	f.http.Do("GET", "/api/v1/me", mine1, nil).Expect(t, 401)
	f.http.Do("GET", "/api/v1/me", mine2, nil).Expect(t, 401)
	f.http.Do("GET", "/api/v1/me", colleague, nil).Expect(t, 200)

	// A site's label stock: a known layout, set by the site's own staff or
	// an admin; another site is not found; a prescriber organisation has no
	// printer.
	staff := partners.Caller{UserID: space.ID, Role: partners.RoleSpace, OrganizationID: spaceID, OrganizationKind: partners.KindSpace}
	if err := f.svc.SetLabelLayout(ctx, staff, spaceID, "a4-avery-l7163"); err != nil {
		t.Fatal(err)
	}
	if o, _ := f.svc.Site(ctx, spaceID); o.LabelLayout != "a4-avery-l7163" {
		t.Fatalf("label layout %q", o.LabelLayout)
	}
	if err := f.svc.SetLabelLayout(ctx, staff, spaceID, "a5-nope"); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("an unknown layout: %v", err)
	}
	if err := f.svc.SetLabelLayout(ctx, staff, f.orgs["warehouse"].ID, ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another site's layout: %v", err)
	}
	if err := f.svc.SetLabelLayout(ctx, admin, f.orgs["prescriber"].ID, "dymo-54x25"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("a prescriber organisation's layout: %v", err)
	}
	if r, ok := partners.RoleOf(partners.KindDonor); ok || r != "" {
		t.Fatalf("donors have role %q", r)
	}
	if r, _ := partners.RoleOf(partners.KindSpace); r != partners.RoleSpace {
		t.Fatalf("a space's role is %q", r)
	}
}
