package testenv

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"
)

// Statements counts the SQL statements sent through a *gorm.DB (and every
// session made from it) while a function runs: the way a test keeps a
// hot path's round trips from creeping back.
type Statements struct {
	on     atomic.Bool
	n      atomic.Int64
	except atomic.Value // string: statements whose SQL holds it are not counted
}

// Except leaves out the statements whose SQL holds substr: the caller's
// authentication ("auth_tokens"), say, which a process remembers for a
// second and so sends or not depending on the time between requests.
func (s *Statements) Except(substr string) *Statements {
	s.except.Store(substr)
	return s
}

// CountStatements hooks a counter on db's callbacks (queries, rows, raw
// statements, creates, updates, deletes).
func CountStatements(t testing.TB, db *gorm.DB) *Statements {
	t.Helper()
	s := &Statements{}
	count := func(tx *gorm.DB) {
		if !s.on.Load() {
			return
		}
		if ex, _ := s.except.Load().(string); ex != "" && strings.Contains(tx.Statement.SQL.String(), ex) {
			return
		}
		s.n.Add(1)
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
