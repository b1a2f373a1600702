package testenv

import (
	"fmt"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"
)

// Statements counts the SQL statements sent through a *gorm.DB (and every
// session made from it) while a function runs: the way a test keeps a
// hot path's round trips from creeping back.
type Statements struct {
	on atomic.Bool
	n  atomic.Int64
}

// CountStatements hooks a counter on db's callbacks (queries, rows, raw
// statements, creates, updates, deletes).
func CountStatements(t testing.TB, db *gorm.DB) *Statements {
	t.Helper()
	s := &Statements{}
	count := func(*gorm.DB) {
		if s.on.Load() {
			s.n.Add(1)
		}
	}
	name := fmt.Sprintf("testenv:count-%p", s)
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register(name, count),
		cb.Row().After("gorm:row").Register(name, count),
		cb.Raw().After("gorm:raw").Register(name, count),
		cb.Create().After("gorm:create").Register(name, count),
		cb.Update().After("gorm:update").Register(name, count),
		cb.Delete().After("gorm:delete").Register(name, count),
	} {
		if err != nil {
			t.Fatalf("count statements: %v", err)
		}
	}
	return s
}

// During runs fn and returns how many statements it sent.
func (s *Statements) During(fn func()) int {
	s.n.Store(0)
	s.on.Store(true)
	defer s.on.Store(false)
	fn()
	return int(s.n.Load())
}
