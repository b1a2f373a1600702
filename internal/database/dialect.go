package database

import (
	"encoding/json"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The engines' differences, asked here only: domain code says what it
// needs (a row lock, rows picked by concurrent takers, a long IN list) and
// never which engine it runs on.

// EngineOf is the engine a connection or transaction speaks to: the one
// way plumbing below the domains (batches, the journal, the figures) asks.
func EngineOf(tx *gorm.DB) Engine {
	if tx.Dialector.Name() == "postgres" {
		return Postgres
	}
	return SQLite
}

// Strength is a row lock's strength.
type Strength string

const (
	// ForShare lets other sharers in and keeps writers out.
	ForShare Strength = "SHARE"
	// ForUpdate keeps everyone who locks the row out.
	ForUpdate Strength = "UPDATE"
)

// Lock is q with the rows it reads locked until the transaction ends, on
// PostgreSQL; SQLite's write transactions begin IMMEDIATE and already run
// one at a time, so it is q there.
func (db *DB) Lock(q *gorm.DB, s Strength) *gorm.DB {
	if db.Engine != Postgres {
		return q
	}
	return q.Clauses(clause.Locking{Strength: string(s)})
}

// LockOf is Lock for a raw statement: " FOR SHARE OF alias" (or UPDATE) to
// end it with on PostgreSQL, "" on SQLite.
func (db *DB) LockOf(s Strength, alias string) string {
	if db.Engine != Postgres {
		return ""
	}
	return " FOR " + string(s) + " OF " + alias
}

// SkipLocked is q whose rows are locked FOR UPDATE SKIP LOCKED on
// PostgreSQL: concurrent takers (two sales, a sale and a transfer) each
// take other rows instead of queueing on the first ones. On SQLite, q.
func (db *DB) SkipLocked(q *gorm.DB) *gorm.DB {
	if db.Engine != Postgres {
		return q
	}
	return q.Clauses(clause.Locking{Strength: string(ForUpdate), Options: "SKIP LOCKED"})
}

// SkipLockedSuffix is SkipLocked for a raw statement.
func (db *DB) SkipLockedSuffix() string {
	if db.Engine != Postgres {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

// InList is the condition "column IN (values)" with the values sent as one
// JSON array parameter: a list of 20,000 codes is one statement on either
// engine, far from their limits on bound parameters.
func (db *DB) InList(column string, values []string) (string, any) {
	if values == nil {
		values = []string{}
	}
	b, _ := json.Marshal(values)
	if db.Engine == Postgres {
		return column + " IN (SELECT json_array_elements_text(?::json))", string(b)
	}
	return column + " IN (SELECT value FROM json_each(?))", string(b)
}

// BlobType is the engine's type for bytes, for a CAST in a raw statement.
func (db *DB) BlobType() string {
	if db.Engine == Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// Followed is an update of one row by id (an UPDATE ... RETURNING) and what
// follows it in the same transaction, an INSERT ... SELECT ... FROM d where
// d is the updated row: a device taken and its event written, say.
type Followed struct {
	Table        string
	ID           int64
	Update       string
	UpdateArgs   []any
	Follow       string
	FollowArgs   []any
	ReturnedRows any // the RETURNING's row is scanned into it
}

// UpdateFollowed runs f and says how many rows the update changed (the
// follow runs only on one). PostgreSQL runs both as one statement (a
// writable CTE: one round trip fewer inside a sale); SQLite runs the
// update, then the follow with d read back from the table.
func (db *DB) UpdateFollowed(tx *gorm.DB, f Followed) (int64, error) {
	if db.Engine == Postgres {
		q := tx.Raw("WITH d AS ("+f.Update+"), e AS ("+f.Follow+") SELECT * FROM d", append(slices.Clone(f.UpdateArgs), f.FollowArgs...)...).Scan(f.ReturnedRows)
		return q.RowsAffected, q.Error
	}
	q := tx.Raw(f.Update, f.UpdateArgs...).Scan(f.ReturnedRows)
	if q.Error != nil || q.RowsAffected != 1 {
		return q.RowsAffected, q.Error
	}
	err := tx.Exec("WITH d AS (SELECT * FROM "+f.Table+" WHERE id = ?) "+f.Follow, append([]any{f.ID}, f.FollowArgs...)...).Error
	return 1, err
}
