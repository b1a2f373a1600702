// Package migrations holds the SQL migrations, one folder per engine, embedded
// in the binary. Files are only ever appended: a released migration never changes.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// For returns the migrations of one engine ("postgres" or "sqlite").
func For(engine string) (fs.FS, error) {
	switch engine {
	case "postgres", "sqlite":
		return fs.Sub(files, engine)
	}
	return nil, fmt.Errorf("no migrations for engine %q", engine)
}
