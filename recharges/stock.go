package recharges

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/csvfile"
	"github.com/tremplin/tremplin/partners"
)

// SoldUnit is a card a sale took, with its PIN opened for the receipt.
type SoldUnit struct {
	ID        int64  `json:"id"`
	ProductID int64  `json:"product_id"`
	Serial    string `json:"serial"`
	PIN       string `json:"pin"`
	ExpiresOn string `json:"expires_on"`
}

type unitRow struct {
	ID         int64
	ProductID  int64
	OperatorID int64
	Serial     string
	PinSealed  []byte
	PinKeyID   *string
	ExpiresOn  string
}

// ErrStockShort is returned when a site has fewer sellable units than asked.
var ErrStockShort = errors.New("stock short")

// Peek is Allocate without taking anything, for a basket checked before
// payment: the qty first-expiring cards it would sell (their date only, no
// serial nor PIN), or the same refusal when the site has fewer. It reads
// the same index and locks nothing.
func (s *Service) Peek(ctx context.Context, db *gorm.DB, productID int64, site partners.Organization, qty int) ([]SoldUnit, error) {
	if qty <= 0 {
		return nil, apperr.Invalid("quantity", "must be at least 1")
	}
	today := s.now().In(site.Location()).Format(time.DateOnly)
	var dates []string
	if err := db.WithContext(ctx).Raw(`SELECT expires_on FROM recharge_units WHERE product_id = ? AND site_id = ? AND status = '`+UnitAvailable+
		`' AND expires_on >= ? ORDER BY expires_on, id LIMIT ?`, productID, site.ID, today, qty).Scan(&dates).Error; err != nil {
		return nil, fmt.Errorf("recharge stock: %w", err)
	}
	if len(dates) < qty {
		return nil, apperr.ConflictBecause(ErrStockShort, "stock-short", "only %d sellable unit(s) of product %d at %s, %d asked", len(dates), productID, site.Name, qty)
	}
	out := make([]SoldUnit, qty)
	for i, d := range dates {
		out[i] = SoldUnit{ProductID: productID, ExpiresOn: d}
	}
	return out, nil
}

// Allocate takes qty sellable units (available, not past their date)
// of a product at a site, first-expiring first, marks them sold and opens
// their PINs, inside tx: the sale's own transaction, so that a failure
// anywhere sells nothing. On PostgreSQL the rows are picked FOR UPDATE SKIP
// LOCKED, so concurrent sales take different units without waiting; on
// SQLite the IMMEDIATE transaction already serialises writers. The
// conditional update then guarantees a unit is sold once. site is the
// site as the caller already read it (its zone gives today). The cards'
// move is counted in fig, which the sale writes with its own figures.
func (s *Service) Allocate(ctx context.Context, tx *gorm.DB, fig *figures.Tally, productID int64, site partners.Organization, qty int, saleID *int64) ([]SoldUnit, error) {
	if qty <= 0 {
		return nil, apperr.Invalid("quantity", "must be at least 1")
	}
	now := s.now()
	today := now.In(site.Location()).Format(time.DateOnly)
	// Picked and sold in one statement: the cards it picks are locked (or
	// skipped when another sale holds them) until the update takes them.
	// status is written out, not bound: a partial index of the available
	// cards serves the pick, and a generic plan could not prove it does.
	pick := `SELECT id FROM recharge_units WHERE product_id = ? AND site_id = ? AND status = '` + UnitAvailable + `' AND expires_on >= ? ORDER BY expires_on, id LIMIT ?` +
		s.db.SkipLockedSuffix()
	var rows []unitRow
	if err := tx.WithContext(ctx).Raw(`UPDATE recharge_units SET status = ?, sold_at = ?, sold_site_id = ?, sale_id = ?
		WHERE id IN (`+pick+`) AND status = ?
		RETURNING id, product_id, operator_id, serial, pin_sealed, pin_key_id, expires_on`,
		UnitSold, now, site.ID, saleID, productID, site.ID, today, qty, UnitAvailable).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sell recharge units: %w", err)
	}
	if len(rows) < qty {
		return nil, apperr.ConflictBecause(ErrStockShort, "stock-short", "only %d sellable unit(s) of product %d at %s, %d asked", len(rows), productID, site.Name, qty)
	}
	fig.MoveCards(site.ID, UnitAvailable, site.ID, UnitSold, productID, int64(len(rows)))
	// First-expiring first on the receipt too.
	slices.SortFunc(rows, func(a, b unitRow) int { return cmp.Or(cmp.Compare(a.ExpiresOn, b.ExpiresOn), cmp.Compare(a.ID, b.ID)) })
	out := make([]SoldUnit, len(rows))
	for i, r := range rows {
		u, err := s.soldUnit(r, true)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// StockLine is one product at one site.
type StockLine struct {
	ProductID int64  `json:"product_id"`
	Product   string `json:"product"`
	SiteID    int64  `json:"site_id"`
	Site      string `json:"site"`
	Available int64  `json:"available"`
	InTransit int64  `json:"in_transit"`
	Sold      int64  `json:"sold"`
	Expired   int64  `json:"expired"`
	Threshold int    `json:"threshold"`
	Low       bool   `json:"low"`
}

// Shelves is the stock a dashboard shows: every line, low or not. Both
// read the figures, so it costs what Stock costs (it read the available
// cards themselves before the figures kept them).
func (s *Service) Shelves(ctx context.Context, c partners.Caller, siteID int64) ([]StockLine, error) {
	return s.Stock(ctx, c, siteID, false)
}

// CounterProduct is an active product as a counter sells it: its price
// and face value, and how many cards can be sold there today.
type CounterProduct struct {
	Product
	Available int64
}

// Counter is a site's active products with their sellable cards (the
// counter's buttons), in one statement redrawn at every scan: each
// product's cards on the shelf from the figures, less those past their
// date found by a seek of the available cards' index; never the history.
func (s *Service) Counter(ctx context.Context, c partners.Caller, siteID int64) ([]CounterProduct, error) {
	if err := c.Require(staffRoles...); err != nil {
		return nil, err
	}
	if err := c.CheckSite(siteID); err != nil {
		return nil, err
	}
	zone := c.Timezone
	if own, ok := c.SiteID(); !ok || own != siteID || zone == "" {
		site, err := partners.SiteIn(s.db.WithContext(ctx), siteID)
		if err != nil {
			return nil, err
		}
		zone = site.Timezone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	var rows []struct {
		Product
		Available int64
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT p.*,
			COALESCE((SELECT SUM(f.n) FROM figure_rows f WHERE f.day = '' AND f.metric = ? AND f.label = ? || p.id AND f.org_id = ?), 0)
			- (SELECT COUNT(*) FROM recharge_units u WHERE u.site_id = ? AND u.product_id = p.id AND u.status = '`+UnitAvailable+`' AND u.expires_on < ?) AS available
		FROM recharge_products p WHERE p.active = ? ORDER BY p.id`,
		figures.Cards, UnitAvailable+"/", siteID, siteID, s.now().In(loc).Format(time.DateOnly), true).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("cards at the counter of site %d: %w", siteID, err)
	}
	out := make([]CounterProduct, len(rows))
	for i, r := range rows {
		out[i] = CounterProduct{Product: r.Product, Available: r.Available}
	}
	return out, nil
}

// idsOf is the ids of a list.
func idsOf[T any](list []T, id func(T) int64) []int64 {
	out := make([]int64, len(list))
	for i, x := range list {
		out[i] = id(x)
	}
	return out
}

// cardCount is a product's cards at a site, by what can be done with them.
type cardCount struct {
	Available, InTransit, Sold, Expired int64
}

// cardCounts counts the cards of some products at some sites: from the
// figures (a few rows per site, kept by every sale, import, transfer and
// sweep), less the cards on the shelf whose date has passed in the site's
// zone since the last sweep, found in the available cards' index by
// site, product and date. Neither reads the cards sold over the years,
// nor the million on the shelves.
func (s *Service) cardCounts(ctx context.Context, sites []partners.Organization, products []Product) (map[[2]int64]cardCount, error) {
	out := map[[2]int64]cardCount{}
	if len(sites) == 0 || len(products) == 0 {
		return out, nil
	}
	ids := idsOf(sites, func(o partners.Organization) int64 { return o.ID })
	var rows []struct {
		OrgID int64
		Label string
		N     int64
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT org_id, label, SUM(n) AS n FROM figure_rows WHERE day = '' AND metric = ? AND org_id IN ? GROUP BY org_id, label`,
		figures.Cards, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count cards: %w", err)
	}
	for _, r := range rows {
		status, pid, ok := strings.Cut(r.Label, "/")
		product, err := strconv.ParseInt(pid, 10, 64)
		if !ok || err != nil {
			continue
		}
		k := [2]int64{r.OrgID, product}
		n := out[k]
		switch status {
		case UnitAvailable:
			n.Available += r.N
		case UnitInTransit:
			n.InTransit += r.N
		case UnitSold:
			n.Sold += r.N
		case UnitExpired:
			n.Expired += r.N
		}
		out[k] = n
	}
	// The cards past their date still on the shelf: one seek of the
	// available cards' index per site and product.
	var values []string
	var args []any
	for _, site := range sites {
		values = append(values, "(CAST(? AS BIGINT), CAST(? AS TEXT))")
		args = append(args, site.ID, s.now().In(site.Location()).Format(time.DateOnly))
	}
	pids := idsOf(products, func(p Product) int64 { return p.ID })
	var past []struct {
		SiteID    int64
		ProductID int64
		N         int64
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT t.column1 AS site_id, p.id AS product_id,
			(SELECT COUNT(*) FROM recharge_units u WHERE u.site_id = t.column1 AND u.product_id = p.id AND u.status = '`+UnitAvailable+`' AND u.expires_on < t.column2) AS n
		FROM (VALUES `+strings.Join(values, ", ")+`) t, recharge_products p WHERE p.id IN ?`, append(args, pids)...).Scan(&past).Error; err != nil {
		return nil, fmt.Errorf("count cards past their date: %w", err)
	}
	for _, r := range past {
		if r.N == 0 {
			continue
		}
		k := [2]int64{r.SiteID, r.ProductID}
		n := out[k]
		n.Available -= r.N
		n.Expired += r.N
		out[k] = n
	}
	return out, nil
}

// stockFrame is what a count of the stock needs around the cards: the
// sites the caller may see (one when siteID is given), the active
// products, and the thresholds set per site.
func (s *Service) stockFrame(ctx context.Context, c partners.Caller, siteID int64) ([]partners.Organization, []Product, map[[2]int64]int, error) {
	if err := c.Require(staffRoles...); err != nil {
		return nil, nil, nil, err
	}
	if c.Is(partners.RoleSpace) {
		own, _ := c.SiteID()
		if siteID != 0 && siteID != own {
			return nil, nil, nil, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
		}
		siteID = own
	}
	var sites []partners.Organization
	q := s.db.WithContext(ctx).Table("organizations").Where("kind IN ? AND active = ?", []partners.Kind{partners.KindWarehouse, partners.KindSpace}, true).Order("id")
	if siteID != 0 {
		q = q.Where("id = ?", siteID)
	}
	if err := q.Find(&sites).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("sites: %w", err)
	}
	if siteID != 0 && len(sites) == 0 {
		return nil, nil, nil, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
	}
	var products []Product
	if err := s.db.WithContext(ctx).Where("active = ?", true).Order("id").Find(&products).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("products: %w", err)
	}
	var overrides []Threshold
	if err := s.db.WithContext(ctx).Find(&overrides).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("thresholds: %w", err)
	}
	override := map[[2]int64]int{}
	for _, o := range overrides {
		override[[2]int64{o.ProductID, o.SiteID}] = o.Threshold
	}
	return sites, products, override, nil
}

// Stock counts units per product and site: available (sellable
// today), in transit, sold, expired (swept or past their date). Admins and
// warehouse staff see every site, space staff their own. lowOnly keeps the
// lines under their threshold. The counts come from the figures, never
// from the cards sold over the years (see cardCounts).
func (s *Service) Stock(ctx context.Context, c partners.Caller, siteID int64, lowOnly bool) ([]StockLine, error) {
	sites, products, override, err := s.stockFrame(ctx, c, siteID)
	if err != nil {
		return nil, err
	}
	counts, err := s.cardCounts(ctx, sites, products)
	if err != nil {
		return nil, err
	}
	out := []StockLine{}
	for _, site := range sites {
		for _, p := range products {
			n := counts[[2]int64{site.ID, p.ID}]
			l := StockLine{ProductID: p.ID, Product: p.Name, SiteID: site.ID, Site: site.Name, Threshold: p.LowStockThreshold,
				Available: n.Available, InTransit: n.InTransit, Sold: n.Sold, Expired: n.Expired}
			if o, ok := override[[2]int64{p.ID, site.ID}]; ok {
				l.Threshold = o
			}
			l.Low = l.Threshold > 0 && l.Available < int64(l.Threshold)
			if !lowOnly || l.Low {
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// SweepExpired marks available units past their date (in each site's time
// zone) as expired. It is idempotent and safe to run from several processes.
func (s *Service) SweepExpired(ctx context.Context) (int64, error) {
	var sites []partners.Organization
	if err := s.db.WithContext(ctx).Where("kind IN ?", []partners.Kind{partners.KindWarehouse, partners.KindSpace}).Find(&sites).Error; err != nil {
		return 0, fmt.Errorf("sites: %w", err)
	}
	var total int64
	for _, site := range sites {
		today := s.now().In(site.Location()).Format(time.DateOnly)
		err := s.inTx(ctx, func(tx *gorm.DB) error {
			var products []int64
			if err := tx.Raw(`UPDATE recharge_units SET status = ? WHERE site_id = ? AND status = ? AND expires_on < ? RETURNING product_id`,
				UnitExpired, site.ID, UnitAvailable, today).Scan(&products).Error; err != nil {
				return err
			}
			if len(products) == 0 {
				return nil
			}
			var fig figures.Tally
			for _, p := range products {
				fig.MoveCards(site.ID, UnitAvailable, site.ID, UnitExpired, p, 1)
			}
			if err := fig.Flush(tx); err != nil {
				return err
			}
			n := int64(len(products))
			total += n
			return audit.Record(ctx, tx, "recharge_units.expire", "organization", site.ID, map[string]any{"units": n, "before": today})
		})
		if err != nil {
			return total, fmt.Errorf("expire units at %s: %w", site.Name, err)
		}
	}
	return total, nil
}

// SoldReport writes the operator's monthly billing file: every unit of that
// operator sold in the month (in the operator's time zone), without PINs.
func (s *Service) SoldReport(ctx context.Context, c partners.Caller, operatorID int64, month string, w io.Writer) error {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return err
	}
	v := &apperr.ValidationError{}
	op, err := s.partners.OrganizationOfKind(ctx, v, "operator_id", operatorID, partners.KindOperator)
	if err != nil {
		return err
	}
	start, perr := time.ParseInLocation("2006-01", month, op.Location())
	if perr != nil {
		v.Field("month", "must be a month such as 2026-11")
	}
	if err := v.Err(); err != nil {
		return err
	}
	end := start.AddDate(0, 1, 0)
	rows, err := s.db.WithContext(ctx).Table("recharge_units u").
		Select("u.serial, p.name, p.face_value_cents, u.sold_at, o.name, u.sale_id").
		Joins("JOIN recharge_products p ON p.id = u.product_id").
		Joins("JOIN organizations o ON o.id = u.sold_site_id").
		Where("u.operator_id = ? AND u.status = ? AND u.sold_at >= ? AND u.sold_at < ?", operatorID, UnitSold, start.UTC(), end.UTC()).
		Order("u.sold_at, u.id").Rows()
	if err != nil {
		return fmt.Errorf("sold units: %w", err)
	}
	defer rows.Close()
	cw := csvfile.NewWriter(w)
	_ = cw.Write([]string{"serial", "product", "face_value_cents", "sold_at", "site", "sale_id"})
	for rows.Next() {
		var serial, product, site string
		var face int64
		var soldAt time.Time
		var saleID *int64
		if err := rows.Scan(&serial, &product, &face, &soldAt, &site, &saleID); err != nil {
			return fmt.Errorf("sold units: %w", err)
		}
		sale := ""
		if saleID != nil {
			sale = strconv.FormatInt(*saleID, 10)
		}
		if err := cw.Write([]string{serial, product, strconv.FormatInt(face, 10), soldAt.UTC().Format(time.RFC3339), site, sale}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return rows.Err()
}

// RotateKeys re-seals every PIN sealed with another key than the current
// one, a thousand at a time. Each batch commits, so an interrupted rotation
// resumes where it stopped; a PIN whose key is not configured stops it with
// a clear error.
func (s *Service) RotateKeys(ctx context.Context, progress func(done int64)) (int64, error) {
	if s.keys == nil {
		return 0, errors.New("no key configured")
	}
	current := s.keys.CurrentID()
	var done int64
	var last int64
	for {
		var rows []unitRow
		if err := s.db.WithContext(ctx).Table("recharge_units").
			Select("id, product_id, operator_id, serial, pin_sealed, pin_key_id, expires_on").
			Where("pin_key_id IS NOT NULL AND pin_key_id <> ? AND id > ?", current, last).Order("id").Limit(1000).Scan(&rows).Error; err != nil {
			return done, fmt.Errorf("read sealed PINs: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		blob := s.db.BlobType()
		values := make([]string, 0, len(rows))
		args := make([]any, 0, 4*len(rows))
		for _, r := range rows {
			aad := pinAAD(r.OperatorID, r.Serial)
			pin, err := s.keys.Open(r.PinSealed, *r.PinKeyID, aad)
			if err != nil {
				return done, fmt.Errorf("card %s: %w", r.Serial, err)
			}
			sealed, id, err := s.keys.Seal(pin, aad)
			if err != nil {
				return done, err
			}
			values = append(values, "(CAST(? AS BIGINT), CAST(? AS "+blob+"), CAST(? AS TEXT), CAST(? AS TEXT))")
			args = append(args, r.ID, blobArg(sealed), id, *r.PinKeyID)
		}
		// One UPDATE per thousand cards; the old key id in the condition keeps
		// a concurrent rotation from sealing twice.
		err := s.inTx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec(`UPDATE recharge_units SET pin_sealed = v.column2, pin_key_id = v.column3
				FROM (VALUES `+strings.Join(values, ", ")+`) AS v
				WHERE recharge_units.id = v.column1 AND recharge_units.pin_key_id = v.column4`, args...).Error; err != nil {
				return fmt.Errorf("re-seal PINs: %w", err)
			}
			return audit.Record(ctx, tx, "recharge_units.rekey", "recharge_units", 0, map[string]any{"units": len(rows), "key_id": current})
		})
		if err != nil {
			return done, err
		}
		done += int64(len(rows))
		last = rows[len(rows)-1].ID
		if progress != nil {
			progress(done)
		}
	}
	return done, nil
}

// blobArg passes bytes as one value: GORM would otherwise expand a []byte
// argument into a list.
type blobArg []byte

func (b blobArg) Value() (driver.Value, error) { return []byte(b), nil }

// SoldUnits returns sold cards by id; withPINs opens their PINs (for the
// sale's answer and its receipt, never for lists).
func (s *Service) SoldUnits(ctx context.Context, db *gorm.DB, ids []int64, withPINs bool) (map[int64]SoldUnit, error) {
	var rows []unitRow
	if err := db.WithContext(ctx).Table("recharge_units").
		Select("id, product_id, operator_id, serial, pin_sealed, pin_key_id, expires_on").
		Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sold cards: %w", err)
	}
	out := make(map[int64]SoldUnit, len(rows))
	for _, r := range rows {
		u, err := s.soldUnit(r, withPINs)
		if err != nil {
			return nil, err
		}
		out[r.ID] = u
	}
	return out, nil
}

// soldUnit is a card as a sale shows it, its PIN opened when asked.
func (s *Service) soldUnit(r unitRow, withPIN bool) (SoldUnit, error) {
	u := SoldUnit{ID: r.ID, ProductID: r.ProductID, Serial: r.Serial, ExpiresOn: r.ExpiresOn}
	if !withPIN || r.PinKeyID == nil {
		return u, nil
	}
	if s.keys == nil {
		return u, errors.New("no key to open PINs: configure TREMPLIN_SECRET_KEY")
	}
	pin, err := s.keys.Open(r.PinSealed, *r.PinKeyID, pinAAD(r.OperatorID, r.Serial))
	if err != nil {
		return u, fmt.Errorf("open the PIN of card %s: %w", r.Serial, err)
	}
	u.PIN = string(pin)
	return u, nil
}
