package partners_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/ui"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/templates"
)

// fixture is a database with a small network, served through the real router.
type fixture struct {
	t     *testing.T
	db    *database.DB
	svc   *partners.Service
	http  *testenv.HTTP
	clock *testenv.Clock
	orgs  map[string]partners.Organization
	users map[string]partners.User // by key: admin, warehouse, space, prescriber, prescriber2
	pw    string
}

var admin = partners.Caller{Role: partners.RoleAdmin}

func newFixture(t *testing.T, limits ...partners.LoginLimits) *fixture {
	t.Helper()
	db := testenv.DB(t)
	hasher, err := partners.NewHasher(64)
	if err != nil {
		t.Fatal(err)
	}
	clk := testenv.NewClock(database.Now())
	lim := partners.LoginLimits{Window: 15 * time.Minute, MaxPerUser: 5, MaxPerAddr: 20}
	if len(limits) > 0 {
		lim = limits[0]
	}
	svc := partners.NewService(partners.Config{DB: db, Hasher: hasher, TokenTTL: time.Hour, SessionTTL: time.Hour,
		Limits: lim, Now: clk.Now})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := httpx.NewEngine(httpx.Deps{Logger: logger, Metrics: httpx.NewMetrics()})
	if err != nil {
		t.Fatal(err)
	}
	views, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	public := e.Group("/api/v1")
	authed := e.Group("/api/v1", api.RequireAuth(svc))
	(&api.Partners{Service: svc}).Routes(public, authed)
	pages := &ui.Partners{Service: svc}
	pages.Site = &web.Site{Views: views, Logger: logger, Frame: pages.Frame}
	pages.Routes(e)

	f := &fixture{t: t, db: db, svc: svc, http: testenv.NewHTTP(t, e), clock: clk,
		orgs: map[string]partners.Organization{}, users: map[string]partners.User{}, pw: "correct horse battery"}
	ctx := context.Background()
	for key, o := range map[string]partners.NewOrganization{
		"warehouse":   {Kind: partners.KindWarehouse, Name: "Entrepôt"},
		"space":       {Kind: partners.KindSpace, Name: "Espace Belleville"},
		"space2":      {Kind: partners.KindSpace, Name: "Espace du Port", Timezone: ptr("Indian/Reunion")},
		"prescriber":  {Kind: partners.KindPrescriber, Name: "CCAS"},
		"prescriber2": {Kind: partners.KindPrescriber, Name: "Mission locale"},
		"donor":       {Kind: partners.KindDonor, Name: "Donateur SA"},
		"operator":    {Kind: partners.KindOperator, Name: "Opérateur"},
	} {
		org, err := svc.CreateOrganization(ctx, admin, o)
		if err != nil {
			t.Fatal(err)
		}
		f.orgs[key] = org
	}
	f.addUser("admin", partners.RoleAdmin, "")
	f.addUser("warehouse", partners.RoleWarehouse, "warehouse")
	f.addUser("space", partners.RoleSpace, "space")
	f.addUser("space-colleague", partners.RoleSpace, "space")
	f.addUser("prescriber", partners.RolePrescriber, "prescriber")
	f.addUser("prescriber2", partners.RolePrescriber, "prescriber2")
	return f
}

func (f *fixture) addUser(key string, role partners.Role, org string) partners.User {
	f.t.Helper()
	in := partners.NewUser{Email: key + "@example.org", Name: "User " + key, Password: f.pw, Role: role}
	if org != "" {
		id := f.orgs[org].ID
		in.OrganizationID = &id
	}
	u, err := f.svc.CreateUser(context.Background(), admin, in)
	if err != nil {
		f.t.Fatal(err)
	}
	f.users[key] = u
	return u
}

// login returns a bearer token for a user of the fixture.
func (f *fixture) login(key string) string {
	f.t.Helper()
	r := f.http.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": key + "@example.org", "password": f.pw})
	r.Expect(f.t, 200)
	return r.Map(f.t)["token"].(string)
}

func ptr[T any](v T) *T { return &v }

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
