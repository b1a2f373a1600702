package database_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestSkipLockedTakersTakeOtherRows: 16 transactions at once each take the
// first 5 free rows of 80 through SkipLocked and mark them; every row is
// taken once, none twice, whatever the engine (PostgreSQL skips the rows
// another taker holds, SQLite runs the takers one at a time).
func TestSkipLockedTakersTakeOtherRows(t *testing.T) {
	db := testenv.DB(t)
	if err := db.Exec(`CREATE TABLE pick_rows (id INTEGER PRIMARY KEY, taker INTEGER)`).Error; err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 80; i++ {
		if err := db.Exec(`INSERT INTO pick_rows (id) VALUES (?)`, i).Error; err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for taker := 1; taker <= 16; taker++ {
		wg.Go(func() {
			errs <- db.WithContext(context.Background()).Transaction(func(tx *gorm.DB) error {
				var ids []int64
				if err := db.SkipLocked(tx.Table("pick_rows").Where("taker IS NULL").Order("id").Limit(5)).Pluck("id", &ids).Error; err != nil {
					return err
				}
				if len(ids) != 5 {
					return fmt.Errorf("taker %d found %d free rows", taker, len(ids))
				}
				res := tx.Exec(`UPDATE pick_rows SET taker = ? WHERE id IN ? AND taker IS NULL`, taker, ids)
				if res.Error == nil && res.RowsAffected != 5 {
					return fmt.Errorf("taker %d took %d of its 5 rows: another held them", taker, res.RowsAffected)
				}
				return res.Error
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var free int64
	db.Table("pick_rows").Where("taker IS NULL").Count(&free)
	if free != 0 {
		t.Fatalf("%d rows left free: a taker took a row twice or not at all", free)
	}
}

// TestInListOfManyValues: 20,000 codes in one condition, one parameter,
// on either engine; an empty list matches nothing.
func TestInListOfManyValues(t *testing.T) {
	db := testenv.DB(t)
	if err := db.Exec(`CREATE TABLE codes (code TEXT PRIMARY KEY)`).Error; err != nil {
		t.Fatal(err)
	}
	var codes []string
	for i := range 20_000 {
		codes = append(codes, fmt.Sprintf("C%05d", i))
	}
	if err := db.Exec(`INSERT INTO codes (code) VALUES ('C00007'), ('C19999'), ('OTHER')`).Error; err != nil {
		t.Fatal(err)
	}
	cond, arg := db.InList("code", codes)
	var found []string
	if err := db.Table("codes").Where(cond, arg).Order("code").Pluck("code", &found).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(found, []string{"C00007", "C19999"}) {
		t.Fatalf("found %v", found)
	}
	cond, arg = db.InList("code", nil)
	found = nil
	if err := db.Table("codes").Where(cond, arg).Pluck("code", &found).Error; err != nil || len(found) != 0 {
		t.Fatalf("an empty list found %v (%v)", found, err)
	}
}

// TestUpdateFollowedWritesBothOrNeither: the follow runs on the row the
// update changed, with the update's values, and not at all when the update
// changed nothing; the returned row is scanned.
func TestUpdateFollowedWritesBothOrNeither(t *testing.T) {
	db := testenv.DB(t)
	for _, q := range []string{
		`CREATE TABLE boxes (id INTEGER PRIMARY KEY, state TEXT NOT NULL, site_id INTEGER NOT NULL)`,
		`CREATE TABLE box_events (box_id INTEGER NOT NULL, site_id INTEGER NOT NULL, note TEXT NOT NULL)`,
		`INSERT INTO boxes (id, state, site_id) VALUES (1, 'in_stock', 7), (2, 'sold', 7)`,
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	take := func(id int64) (int64, struct{ ID, SiteID int64 }, error) {
		var row struct{ ID, SiteID int64 }
		var n int64
		err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			n, err = db.UpdateFollowed(tx, database.Followed{Table: "boxes", ID: id,
				Update: `UPDATE boxes SET state = ? WHERE id = ? AND state = ? RETURNING id, site_id`, UpdateArgs: []any{"sold", id, "in_stock"},
				Follow: `INSERT INTO box_events (box_id, site_id, note) SELECT d.id, d.site_id, ? FROM d`, FollowArgs: []any{"sold"}, ReturnedRows: &row})
			return err
		})
		return n, row, err
	}
	if n, row, err := take(1); err != nil || n != 1 || row.ID != 1 || row.SiteID != 7 {
		t.Fatalf("taking a box in stock: %d rows, %+v, %v", n, row, err)
	}
	if n, _, err := take(2); err != nil || n != 0 {
		t.Fatalf("taking a sold box: %d rows, %v", n, err)
	}
	var events []struct {
		BoxID, SiteID int64
		Note          string
	}
	if err := db.Table("box_events").Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].BoxID != 1 || events[0].SiteID != 7 || events[0].Note != "sold" {
		t.Fatalf("events %+v, want one for box 1 at site 7", events)
	}
}
