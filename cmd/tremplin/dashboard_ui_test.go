package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
)

// TestDashboardInBrowser: the admin's home is the demo network's
// dashboard, its figures those of the database, each chart followed by
// its table; a period and a site are chosen with the form; a mistyped
// date says so. A space's staff see their own site's dashboard, and not
// the network's.
func TestDashboardInBrowser(t *testing.T) {
	h, svc, _ := newTestRouter(t)
	net, admin, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	seedForTheWalk(t, svc) // a sale, so that the partners' reports have a line
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(admin.Email, admin.Password)
	ui.Do(chromedp.WaitVisible("#flow"))

	var devices, vouchers int64
	svc.db.Table("devices").Count(&devices)
	svc.db.Table("vouchers").Count(&vouchers)
	if got := strings.Join(strings.Fields(ui.Text("#totals")), " "); !strings.Contains(got, fmt.Sprintf("%d appareils reçus", devices)) {
		t.Errorf("totals %q, want %d devices received", got, devices)
	}
	if n := ui.Eval(`document.querySelectorAll("svg.chart").length`); n != 3 {
		t.Errorf("%d charts, want the flow, the sales and the vouchers", n)
	}
	// The weeks' table sums to what came in.
	intake := ui.Eval(`[...document.querySelectorAll("#flow tbody tr")].reduce((s, r) => s + Number(r.cells[1].textContent.replace(/\s/g, "")), 0)`)
	if int64(intake) != devices {
		t.Errorf("the flow table counts %d received, the database %d", intake, devices)
	}
	issued := ui.Eval(`[...document.querySelectorAll("#vouchers-by-prescriber tbody tr")].reduce((s, r) => s + Number(r.cells[1].textContent), 0)`)
	if int64(issued) != vouchers {
		t.Errorf("prescribers issued %d vouchers on the page, %d in the database", issued, vouchers)
	}
	if !strings.Contains(ui.Text("#vouchers-by-prescriber"), "CCAS") {
		t.Errorf("vouchers by prescriber: %q", ui.Text("#vouchers-by-prescriber"))
	}
	ui.Shot("dashboard-network")
	checkPage(t, ui, "dashboard-network", "/admin")

	// The partners' reports of the period shown, downloaded as a person
	// would by following the links: a CSV a standard reader parses, a PDF
	// whose text says who was served.
	files := map[string]string{}
	for _, id := range []string{"funders-pdf", "funders-csv", "open-data-csv"} {
		href := ui.EvalString(`document.getElementById("` + id + `").getAttribute("href")`)
		if from := ui.EvalString(`document.getElementById("from").value`); from == "" || !strings.Contains(href, "from="+from) {
			t.Errorf("%s does not carry the period shown: %s", id, href)
		}
		status, kind, body := exchange(t, h, "GET", href, nil, ui.Cookie(sessionCookie))
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", href, status, body)
		}
		files[id] = body
		if id == "funders-pdf" {
			if kind != "application/pdf" {
				t.Errorf("%s is %s", href, kind)
			}
			continue
		}
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(records) < 2 {
			t.Errorf("%s: %d lines, %v", href, len(records), err)
		}
	}
	if text := testenv.PDFText(t, []byte(files["funders-pdf"])); !strings.Contains(text, "1 personne équipée") {
		t.Errorf("the funder PDF reads:\n%s", text)
	}
	if !strings.HasPrefix(files["open-data-csv"], "departement,month,category,people,devices,recharges") {
		t.Errorf("open data: %.200s", files["open-data-csv"])
	}
	if status, _, _ := exchange(t, h, "GET", "/admin/rapports/financeurs.csv?from=2026-02-31", nil, ui.Cookie(sessionCookie)); status != http.StatusUnprocessableEntity {
		t.Errorf("a date that does not exist: %d", status)
	}

	// One site, chosen with the form.
	var belleville int64
	svc.db.Table("organizations").Where("name = ?", "Espace numérique Belleville").Pluck("id", &belleville)
	ui.Do(chromedp.SetValue("#site", fmt.Sprint(belleville)))
	ui.ClickText("Afficher")
	ui.Do(chromedp.WaitVisible("#devices-now"))
	if !strings.Contains(ui.Location(), fmt.Sprintf("site=%d", belleville)) || ui.Has("#stock-by-site") {
		t.Errorf("the site's view at %s", ui.Location())
	}
	var onShelf int64
	svc.db.Table("devices").Where("site_id = ? AND state = 'in_stock'", belleville).Count(&onShelf)
	if got := strings.Join(strings.Fields(ui.Text("#devices-now")), " "); !strings.Contains(got, fmt.Sprintf("En stock %d", onShelf)) {
		t.Errorf("Belleville's devices now: %q, want %d in stock", got, onShelf)
	}
	// A date that does not exist.
	ui.Open("/admin?from=2026-02-31", "#flow")
	if got := ui.Text("#period-problem"); !strings.Contains(got, "ne sont pas comprises") {
		t.Errorf("a wrong date says %q", got)
	}

	// The space's staff: their site, not the network.
	var space partners.DemoAccount
	for _, a := range net.Accounts {
		if a.Email == "belleville@demo.tremplin.local" {
			space = a
		}
	}
	staff := testenv.NewUI(t, h.URL, 20*time.Second)
	staff.Login(space.Email, space.Password)
	staff.ClickText("Tableau de bord")
	staff.Do(chromedp.WaitVisible("#devices-now"))
	if staff.Has("#stock-by-site") || staff.Has("#vouchers-by-prescriber") || !staff.Has("#recharge-stock") {
		t.Errorf("the space's dashboard shows the network's tables")
	}
	checkPage(t, staff, "dashboard-space", "/tableau-de-bord")
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/admin", nil)
	req.AddCookie(staff.Cookie(sessionCookie))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the network's dashboard for a space: %d", resp.StatusCode)
	}
	for _, path := range []string{"/admin/rapports/financeurs.pdf", "/admin/rapports/financeurs.csv", "/admin/rapports/donnees-ouvertes.csv"} {
		if status, _, _ := exchange(t, h, "GET", path, nil, staff.Cookie(sessionCookie)); status != http.StatusForbidden {
			t.Errorf("%s for a space: %d", path, status)
		}
	}
}
