package database

import (
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Batch is writes that belong together at the end of a transaction. On
// PostgreSQL they travel as one statement (each a data-modifying CTE), so
// that a sale's last writes cost one round trip, not seven; on SQLite they
// run in turn. Either way, each write says what it touched through its
// RETURNING expression (an id, or a constant to count rows). All the
// writes of a PostgreSQL batch see the same snapshot: none may read what
// another one writes, nor touch the same row.
type Batch struct {
	steps []batchStep
}

type batchStep struct {
	query     string // INSERT, UPDATE or DELETE, without RETURNING
	returning string // one integer expression
	more      string // further RETURNING columns that later writes read
	args      []any
}

// Add appends a write whose rows are reported by returning (an integer
// expression such as "id", or "0" to count them). It returns the write's
// index in the batch's answer.
func (b *Batch) Add(query, returning string, args ...any) int {
	b.steps = append(b.steps, batchStep{query: query, returning: returning, args: args})
	return len(b.steps) - 1
}

// AddRead appends a write whose RETURNING columns (the integer reported
// as v, then more) a later write of the batch reads, from the table named
// Ref(i): on PostgreSQL it is the write's own CTE, so the later write sees
// the rows as this one left them (a row it locked and changed, not the
// statement's snapshot). PostgreSQL only: on SQLite, Run refuses it.
func (b *Batch) AddRead(query, returning, more string, args ...any) int {
	b.steps = append(b.steps, batchStep{query: query, returning: returning, more: more, args: args})
	return len(b.steps) - 1
}

// Ref names write i's rows for a later write of the batch (see AddRead).
func Ref(i int) string { return fmt.Sprintf("w%d", i) }

// Returned is what each write of a batch returned, in its order, values
// sorted within a write.
type Returned [][]int64

// Rows is how many rows write i touched.
func (r Returned) Rows(i int) int { return len(r[i]) }

// Run sends the batch in tx.
func (b *Batch) Run(tx *gorm.DB) (Returned, error) {
	out := make(Returned, len(b.steps))
	if len(b.steps) == 0 {
		return out, nil
	}
	if EngineOf(tx) != Postgres {
		for _, s := range b.steps {
			if s.more != "" {
				return nil, fmt.Errorf("a batch whose writes read each other needs PostgreSQL")
			}
		}
		for i, s := range b.steps {
			vals, err := returnedInts(tx.Raw(s.query+" RETURNING "+s.returning, s.args...))
			if err != nil {
				return nil, err
			}
			out[i] = vals
		}
		return out, nil
	}
	var sb strings.Builder
	var args []any
	sb.WriteString("WITH ")
	for i, s := range b.steps {
		if i > 0 {
			sb.WriteString(", ")
		}
		more := ""
		if s.more != "" {
			more = ", " + s.more
		}
		fmt.Fprintf(&sb, "w%d AS (%s RETURNING %s AS v%s)", i, s.query, s.returning, more)
		args = append(args, s.args...)
	}
	for i := range b.steps {
		if i > 0 {
			sb.WriteString(" UNION ALL")
		}
		fmt.Fprintf(&sb, " SELECT %d AS w, v FROM w%d", i, i)
	}
	rows, err := tx.Raw(sb.String(), args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var w int
		var v int64
		if err := rows.Scan(&w, &v); err != nil {
			return nil, err
		}
		out[w] = append(out[w], v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, vals := range out {
		slices.Sort(vals)
	}
	return out, nil
}

func returnedInts(q *gorm.DB) ([]int64, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vals []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(vals)
	return vals, nil
}

// Values is "(?, ?, …), (?, …)" for n rows of width placeholders: a
// multi-row VALUES list.
func Values(n, width int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
