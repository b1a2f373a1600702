package reports

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// Gauges exposes the stock as it stands to Prometheus: devices per site,
// state and category (from the figures kept as they happen), recharge
// cards on the shelves per site and product (a partial index holds only
// those), and how many products run under their threshold. A scrape reads
// what is in stock, never the history; answers are kept for TTL so that
// several scrapers cost one read.
type Gauges struct {
	DB  *database.DB
	Now func() time.Time
	TTL time.Duration

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

var (
	devicesDesc = prometheus.NewDesc("tremplin_devices", "Devices now, per site, state and category.",
		[]string{"site_id", "state", "category"}, nil)
	rechargesDesc = prometheus.NewDesc("tremplin_recharge_stock", "Recharge cards available (not expired) per site and product.",
		[]string{"site_id", "product_id"}, nil)
	lowDesc = prometheus.NewDesc("tremplin_low_stock", "Products under their low-stock threshold, counted per site.",
		nil, nil)
	accessoriesDesc = prometheus.NewDesc("tremplin_accessory_stock", "Accessories available per site and accessory.",
		[]string{"site_id", "accessory_id"}, nil)
	scrapeErrDesc = prometheus.NewDesc("tremplin_stock_scrape_error", "1 when the last read of the stock failed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (g *Gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{devicesDesc, rechargesDesc, accessoriesDesc, lowDesc, scrapeErrDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *Gauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.metrics == nil || now.Sub(g.at) >= g.TTL {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ms, err := g.read(ctx, now)
		cancel()
		failed := 0.0
		if err != nil {
			failed = 1
			ms = nil
		}
		g.metrics = append(ms, prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, failed))
		g.at = now
	}
	for _, m := range g.metrics {
		ch <- m
	}
}

func (g *Gauges) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// read makes the gauges in three statements, each bounded by the stock.
func (g *Gauges) read(ctx context.Context, now time.Time) ([]prometheus.Metric, error) {
	db := g.DB.WithContext(ctx)
	var out []prometheus.Metric
	var devices []struct {
		OrgID int64
		Label string
		N     int64
	}
	if err := db.Raw(`SELECT org_id, label, SUM(n) AS n FROM figure_rows WHERE day = '' AND metric = ? GROUP BY org_id, label HAVING SUM(n) <> 0`, figures.Devices).Scan(&devices).Error; err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	for _, d := range devices {
		state, category, _ := strings.Cut(d.Label, "/")
		out = append(out, prometheus.MustNewConstMetric(devicesDesc, prometheus.GaugeValue, float64(d.N), strconv.FormatInt(d.OrgID, 10), state, category))
	}
	// Cards still valid today in the network's zone (a day early or late
	// at a far site changes a gauge, not a sale).
	loc, _ := zone.Load(partners.DefaultTimezone)
	stock, err := cardsOnShelves(db, now.In(loc).Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	have := map[[2]int64]int64{}
	for _, s := range stock {
		have[[2]int64{s.SiteID, s.ProductID}] = s.N
		out = append(out, prometheus.MustNewConstMetric(rechargesDesc, prometheus.GaugeValue, float64(s.N),
			strconv.FormatInt(s.SiteID, 10), strconv.FormatInt(s.ProductID, 10)))
	}
	// Every active product at every active site, against its threshold
	// (the site's own, else the product's).
	var limits []struct {
		SiteID    int64
		ProductID int64
		Threshold int64
	}
	if err := db.Raw(`SELECT o.id AS site_id, p.id AS product_id, COALESCE(t.threshold, p.low_stock_threshold) AS threshold
		FROM organizations o CROSS JOIN recharge_products p
		LEFT JOIN recharge_thresholds t ON t.site_id = o.id AND t.product_id = p.id
		WHERE o.kind IN ('warehouse', 'space') AND o.active = ? AND p.active = ?`, true, true).Scan(&limits).Error; err != nil {
		return nil, fmt.Errorf("thresholds: %w", err)
	}
	low := 0
	for _, l := range limits {
		if l.Threshold > 0 && have[[2]int64{l.SiteID, l.ProductID}] < l.Threshold {
			low++
		}
	}
	// Accessories: their per-site sums, and those at or under their mark.
	var acc []struct {
		SiteID, AccessoryID int64
		Available           int64
		Threshold           int64
	}
	if err := db.Raw(`SELECT s.site_id, s.accessory_id, s.available, a.low_stock_threshold AS threshold
		FROM accessory_stock s JOIN accessories a ON a.id = s.accessory_id WHERE a.active = ?`, true).Scan(&acc).Error; err != nil {
		return nil, fmt.Errorf("accessory stock: %w", err)
	}
	for _, a := range acc {
		out = append(out, prometheus.MustNewConstMetric(accessoriesDesc, prometheus.GaugeValue, float64(a.Available),
			strconv.FormatInt(a.SiteID, 10), strconv.FormatInt(a.AccessoryID, 10)))
		if a.Threshold > 0 && a.Available <= a.Threshold {
			low++
		}
	}
	out = append(out, prometheus.MustNewConstMetric(lowDesc, prometheus.GaugeValue, float64(low)))
	return out, nil
}

type shelfCount struct {
	SiteID    int64
	ProductID int64
	N         int64
}

// cardsOnShelves is the cards still valid on today per site and product,
// those with any: the figures' count of the cards on the shelves, less
// those past their date not swept yet (one seek of the available cards'
// index per site and product). A scrape every few seconds must not count
// the million cards on the shelves.
func cardsOnShelves(db *gorm.DB, today string) ([]shelfCount, error) {
	var rows []struct {
		OrgID int64
		Label string
		N     int64
	}
	if err := db.Raw(`SELECT org_id, label, SUM(n) AS n FROM figure_rows WHERE day = '' AND metric = ? AND label LIKE 'available/%' GROUP BY org_id, label`,
		figures.Cards).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("recharge stock: %w", err)
	}
	var out []shelfCount
	var values []string
	var args []any
	for _, r := range rows {
		product, err := strconv.ParseInt(strings.TrimPrefix(r.Label, "available/"), 10, 64)
		if err != nil || r.N <= 0 {
			continue
		}
		out = append(out, shelfCount{r.OrgID, product, r.N})
		values = append(values, "(CAST(? AS BIGINT), CAST(? AS BIGINT))")
		args = append(args, r.OrgID, product)
	}
	if len(out) == 0 {
		return out, nil
	}
	var past []shelfCount
	if err := db.Raw(`SELECT t.column1 AS site_id, t.column2 AS product_id, (SELECT COUNT(*) FROM recharge_units u
			WHERE u.site_id = t.column1 AND u.product_id = t.column2 AND u.status = 'available' AND u.expires_on < ?) AS n
		FROM (VALUES `+strings.Join(values, ", ")+`) t`, append([]any{today}, args...)...).Scan(&past).Error; err != nil {
		return nil, fmt.Errorf("recharge stock past its date: %w", err)
	}
	gone := map[[2]int64]int64{}
	for _, p := range past {
		gone[[2]int64{p.SiteID, p.ProductID}] = p.N
	}
	kept := out[:0]
	for _, c := range out {
		if c.N -= gone[[2]int64{c.SiteID, c.ProductID}]; c.N > 0 {
			kept = append(kept, c)
		}
	}
	return kept, nil
}
