package database

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Instant is a nullable time read from an expression (MAX(at), a
// subquery): SQLite gives such a column no declared type, so the driver
// hands back the text it stored rather than a time.
type Instant struct {
	Time  time.Time
	Valid bool
}

// sqliteLayouts are the forms the SQLite driver writes times in.
var sqliteLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05"}

// Scan implements sql.Scanner.
func (i *Instant) Scan(v any) error {
	*i = Instant{}
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		*i = Instant{x, true}
		return nil
	case []byte:
		return i.Scan(string(x))
	case string:
		for _, l := range sqliteLayouts {
			if t, err := time.Parse(l, x); err == nil {
				*i = Instant{t.UTC(), true}
				return nil
			}
		}
		return fmt.Errorf("instant %q: not a time", x)
	}
	return fmt.Errorf("instant: cannot read %T", v)
}

// Value implements driver.Valuer.
func (i Instant) Value() (driver.Value, error) {
	if !i.Valid {
		return nil, nil
	}
	return i.Time, nil
}
