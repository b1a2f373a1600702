package database_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
)

func TestResolve(t *testing.T) {
	cases := []struct {
		raw    string
		engine database.Engine
		where  string
		bad    bool
	}{
		{"", database.SQLite, "data/tremplin.db", false},
		{"/srv/tremplin/t.db", database.SQLite, "/srv/tremplin/t.db", false},
		{"sqlite:local.db", database.SQLite, "local.db", false},
		{"postgres://u:pw@db:5432/t?sslmode=disable", database.Postgres, "postgres://u:xxxxx@db:5432/t?sslmode=disable", false},
		{"postgresql://db/t", database.Postgres, "postgresql://db/t", false},
		{"postgres://u@db/t?password=pw&sslmode=disable", database.Postgres, "postgres://u@db/t?password=xxxxx&sslmode=disable", false},
		{"mysql://db/t", "", "", true},
		{"file.db?mode=memory", "", "", true},
	}
	for _, c := range cases {
		got, err := database.Resolve(c.raw, "data")
		if c.bad {
			if err == nil {
				t.Errorf("%q accepted", c.raw)
			}
			continue
		}
		if err != nil || got.Engine != c.engine || got.Where != c.where {
			t.Errorf("%q → %+v, %v", c.raw, got, err)
		}
		if c.engine == database.SQLite && !strings.Contains(got.DSN, "_txlock=immediate") {
			t.Errorf("%q: SQLite DSN without IMMEDIATE transactions: %s", c.raw, got.DSN)
		}
	}
}

// TestSQLiteSettings opens the embedded engine whatever engine the suite runs on.
func TestSQLiteSettings(t *testing.T) {
	db := testenv.Open(t, filepath.Join(t.TempDir(), "t.db"), "")
	if _, err := db.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var mode string
	var fk, timeout int
	db.Raw("PRAGMA journal_mode").Scan(&mode)
	db.Raw("PRAGMA foreign_keys").Scan(&fk)
	db.Raw("PRAGMA busy_timeout").Scan(&timeout)
	if mode != "wal" || fk != 1 || timeout < 5000 {
		t.Fatalf("journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, timeout)
	}
	// Foreign keys are enforced.
	err := db.Exec(`INSERT INTO users (email, name, password_hash, role, organization_id, active, created_at, updated_at)
		VALUES ('x@example.org', 'x', 'h', 'space', 4242, true, ?, ?)`, database.Now(), database.Now()).Error
	if err == nil {
		t.Fatal("a user was inserted for an organisation that does not exist")
	}
}

// TestRacingReadThenWriteTransactions: 40 goroutines each read a counter and
// write it back plus one, in a transaction. Every one must succeed and none
// may be lost: on SQLite that needs IMMEDIATE transactions (a deferred one
// fails with "database is locked"), on PostgreSQL a row lock.
func TestRacingReadThenWriteTransactions(t *testing.T) {
	db := testenv.DB(t)
	if err := db.Exec(`CREATE TABLE race_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO race_counter (id, n) VALUES (1, 0)`).Error; err != nil {
		t.Fatal(err)
	}
	lock := db.LockOf(database.ForUpdate, "race_counter")
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.WithContext(context.Background()).Transaction(func(tx *gorm.DB) error {
				var v int
				if err := tx.Raw(`SELECT n FROM race_counter WHERE id = 1` + lock).Scan(&v).Error; err != nil {
					return err
				}
				return tx.Exec(`UPDATE race_counter SET n = ? WHERE id = 1`, v+1).Error
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("transaction failed: %v", err)
		}
	}
	var got int
	db.Raw(`SELECT n FROM race_counter WHERE id = 1`).Scan(&got)
	if got != n {
		t.Fatalf("counter %d after %d increments", got, n)
	}
}

func TestMigrateIsIdempotentAndVersioned(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	applied, err := db.Migrate(ctx, nil)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v", applied, err)
	}
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	cur, known, err := db.Versions(ctx)
	if err != nil || cur != known || known < 1 {
		t.Fatalf("versions %d/%d %v", cur, known, err)
	}
}

// TestSchemasMatch: after migration, SQLite and PostgreSQL have the same
// tables, the same columns in each, and the same named indexes, so that a
// migration written for one engine and forgotten for the other fails here.
func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	open := func(raw string) *database.DB {
		db := testenv.Open(t, raw, "")
		if _, err := db.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return db
	}
	lite := open(filepath.Join(t.TempDir(), "schema.db"))
	pg := open(testenv.FreshPostgres(t))
	describe := func(db *database.DB) map[string]string {
		var tables []string
		if db.Engine == database.SQLite {
			db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables)
		} else {
			db.Raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`).Scan(&tables)
		}
		out := map[string]string{}
		for _, tb := range tables {
			var cols, indexes []string
			if db.Engine == database.SQLite {
				db.Raw(`SELECT name FROM pragma_table_info(?) ORDER BY name`, tb).Scan(&cols)
				db.Raw(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`, tb).Scan(&indexes)
			} else {
				db.Raw(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ? ORDER BY column_name`, tb).Scan(&cols)
				db.Raw(`SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
					WHERE c.relname = ? AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
					ORDER BY i.relname`, tb).Scan(&indexes)
			}
			out[tb] = "columns " + strings.Join(cols, ",") + "; indexes " + strings.Join(indexes, ",")
		}
		return out
	}
	a, b := describe(lite), describe(pg)
	t.Logf("devices: %s", a["devices"])
	if len(a) < 20 {
		t.Fatalf("only %d tables on SQLite", len(a))
	}
	for tb, desc := range a {
		if b[tb] != desc {
			t.Errorf("table %s:\n  sqlite   %s\n  postgres %s", tb, desc, b[tb])
		}
	}
	for tb := range b {
		if _, ok := a[tb]; !ok {
			t.Errorf("table %s exists on PostgreSQL only", tb)
		}
	}
}

// TestNoJIT: the service's connections run without JIT compiling (a page's
// small count, estimated large, once cost 100 ms of compiling), unless the
// URL asks for it.
func TestNoJIT(t *testing.T) {
	raw := testenv.FreshPostgres(t)
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{{raw, "off"}, {raw + sep + "jit=on", "on"}} {
		db := testenv.Open(t, c.url, "")
		var jit string
		if err := db.Raw(`SHOW jit`).Scan(&jit).Error; err != nil {
			t.Fatal(err)
		}
		if jit != c.want {
			t.Errorf("jit %s, want %s", jit, c.want)
		}
	}
}
