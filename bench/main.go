// Command bench measures Tremplin's speed on PostgreSQL, each scenario beside
// a reference measured in the same run on the same machine, so that the ratio
// holds on a noisy machine:
//
//	go run ./bench [-quick] [-json] [NAME...]
//
// It builds and starts `tremplin serve` as a process on a fresh database of
// TREMPLIN_BENCH_DATABASE_URL's server (default the local PostgreSQL), seeds
// what it needs, loads it with vegeta, and drops the database at the end.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
)

// Result is one line of the report.
type Result struct {
	Name           string   `json:"name"`
	Value          *float64 `json:"value"`
	Unit           string   `json:"unit"`
	Reference      string   `json:"reference"`
	ReferenceValue *float64 `json:"reference_value"`
	Ratio          *float64 `json:"ratio"`
	Goal           string   `json:"goal"`
	Note           string   `json:"note,omitempty"`
}

type scenario struct {
	name string
	goal string
	run  func(ctx context.Context, env *env) (Result, error)
}

var scenarios = []scenario{
	{"scan_lookup", "ratio ≥ 0.5, p99 ≤ 1.5× the reference's", scanLookup},
	{"counter_scan", "p99 ≤ 2× the scan API's (ratio ≤ 2), no row lock", counterScan},
	{"sale", "ratio ≥ 0.6 of its own SQL replayed, zero oversell, p99 < 150 ms", sale},
	{"labels", "ratio ≥ 0.5", labels},
	{"stock_check", "< 1 s for 20,000 codes", stockCheck},
	{"recharge_import", "ratio ≥ 0.9 of the floor, RSS < 100 MB", rechargeImport},
	{"voucher_pdf", "reported", voucherPDF},
	{"report_summary", "< 0.1 s", reportSummary},
	{"dashboard", "< 0.3 s", dashboard},
	{"report_summary_10y", "< 0.3 s", reportSummary10y},
	{"history", "every page < 0.3 s on both engines", history},
	{"rss", "< 100 MB", rss},
	{"login_burst", "peak < 300 MB, refused in < 100 ms", loginBurst},
	{"idle_rss", "reported", idleRSS},
	{"ui_sale_slow3g", "< 8 s, ≤ 6 round trips", uiSaleSlow3G},
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-reference-server" {
		os.Exit(referenceServer(os.Args[2]))
	}
	quick := flag.Bool("quick", false, "short runs: the whole bench in under 5 minutes on 2 cores")
	asJSON := flag.Bool("json", false, "print a JSON array instead of a table")
	flag.Parse()
	want := flag.Args()
	for _, w := range want {
		if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == w }) {
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q\n", w)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	e, err := newEnv(ctx, *quick)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer e.close()

	var results []Result
	failed := false
	for _, s := range scenarios {
		if len(want) > 0 && !slices.Contains(want, s.name) {
			continue
		}
		if s.run == nil {
			results = append(results, Result{Name: s.name, Goal: s.goal, Note: "missing: the feature it measures is not built yet"})
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s...\n", s.name)
		r, err := s.run(ctx, e)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", s.name, err)
			r = Result{Name: s.name, Note: "failed: " + err.Error()}
			failed = true
		}
		r.Name, r.Goal = s.name, s.goal
		if r.Value != nil && r.ReferenceValue != nil && *r.ReferenceValue > 0 {
			ratio := *r.Value / *r.ReferenceValue
			r.Ratio = &ratio
		}
		results = append(results, r)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(results)
	} else {
		printTable(results)
	}
	if failed {
		// os.Exit skips the deferred close: the server and its database
		// would outlive the run.
		e.close()
		os.Exit(1)
	}
}

func printTable(results []Result) {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tREFERENCE\tRATIO\tGOAL\tNOTE")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, num(r.Value, r.Unit), ref(r), num(r.Ratio, "×"), r.Goal, r.Note)
	}
	tw.Flush()
}

func num(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	return strings.TrimSpace(fmt.Sprintf("%.2f %s", *v, unit))
}

func ref(r Result) string {
	if r.Reference == "" {
		return "—"
	}
	return fmt.Sprintf("%s: %s", r.Reference, num(r.ReferenceValue, r.Unit))
}

func f64(v float64) *float64 { return &v }
