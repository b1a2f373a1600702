// Package zone loads IANA time zones once per process. time.LoadLocation
// reads and parses the zone's file on every call; a sale places its day in
// the site's zone, and that read was a twentieth of the server's time under
// the sale bench.
package zone

import (
	"sync"
	"time"
)

var loaded sync.Map // name → *time.Location

// Load is time.LoadLocation, remembered. Unknown names are not remembered
// (they would let anyone grow the map), and "Local" is refused: it depends
// on the server, and no organisation lives there.
func Load(name string) (*time.Location, error) {
	if l, ok := loaded.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "Local" {
		return nil, errLocal
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	loaded.Store(name, l)
	return l, nil
}

// Or is name's zone, or fallback's when name is unknown.
func Or(name string, fallback *time.Location) *time.Location {
	if l, err := Load(name); err == nil {
		return l
	}
	return fallback
}

type localError struct{}

func (localError) Error() string { return `time zone "Local" depends on the server; name the zone` }

var errLocal error = localError{}
