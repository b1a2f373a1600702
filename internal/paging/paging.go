// Package paging is the shape of every list: a page asked by limit and
// cursor, a list answered with the next cursor. The domains list through it
// without knowing HTTP; httpx reads a page from a request's query.
package paging

import (
	"encoding/base64"
	"strconv"
)

// Page is a request for one page of a list ordered by id.
type Page struct {
	Limit   int
	AfterID int64
}

// List is the shape of every list answer.
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// New trims a page fetched with Limit+1 rows and sets the next cursor.
func New[T any](items []T, p Page, id func(T) int64) List[T] {
	l := List[T]{Items: items}
	if l.Items == nil {
		l.Items = []T{}
	}
	if len(items) > p.Limit {
		l.Items = items[:p.Limit]
		c := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id(l.Items[p.Limit-1]), 10)))
		l.NextCursor = &c
	}
	return l
}

// ParseCursor reads back a cursor New wrote; false for anything else.
func ParseCursor(s string) (afterID int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id < 0 {
		return 0, false
	}
	return id, true
}
