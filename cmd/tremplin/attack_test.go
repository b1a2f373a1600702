package main

// Tests for the holes an attack found (issue 10): each failed before its fix.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/testenv"
)

// TestPasswordInURLQueryIsMasked: a password given as ?password= is masked in
// the listening line and in errors, like one in the user-info part. Before,
// both printed it.
func TestPasswordInURLQueryIsMasked(t *testing.T) {
	const secret = "s3cr3t-in-query"
	env := testEnv(t)
	env["TREMPLIN_DATABASE_URL"] = "postgres://tremplin@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2&password=" + secret
	code, out, stderr := runCmd(t, env, "check")
	if code == 0 || strings.Contains(out+stderr, secret) {
		t.Fatalf("check: exit %d, printed %q %q", code, out, stderr)
	}
	env["TREMPLIN_DATABASE_URL"] = "postgres://tremplin@127.0.0.1:bad/nowhere?password=" + secret
	if code, out, stderr := runCmd(t, env, "check"); code == 0 || strings.Contains(out+stderr, secret) {
		t.Fatalf("check on a malformed URL: exit %d, printed %q %q", code, out, stderr)
	}
	// The listening line of a server whose URL carries the password so.
	env["TREMPLIN_DATABASE_URL"] = testenv.FreshPostgres(t) + "&password=" + secret
	s := startServe(t, env)
	if strings.Contains(s.Out.String()+s.Err.String(), secret) || !strings.Contains(s.Out.String(), "password=xxxxx") {
		t.Fatalf("serve printed:\n%s\n%s", s.Out, s.Err)
	}
}

// TestEmbeddedDatabaseFilesArePrivate: in a data folder that already exists
// and is open to all (0755), the database and its WAL are created 0600, and
// a key file others may read is refused. Before, tremplin.db was 0644 and
// such a key started without a word.
func TestEmbeddedDatabaseFilesArePrivate(t *testing.T) {
	env := testEnv(t)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env["TREMPLIN_DATA_DIR"] = dir
	env["TREMPLIN_DATABASE_URL"] = ""
	delete(env, "TREMPLIN_SECRET_KEY")
	s := startServe(t, env)
	for _, name := range []string{"tremplin.db", "tremplin.db-wal", "tremplin.db-shm", "secret.key"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: others may read it", name, st.Mode().Perm())
		}
	}
	s.Stop(t)
	key := filepath.Join(dir, "secret.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	// A refusal ends at once; a server that started anyway is stopped after 20 s.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut testenv.LockedBuffer
	code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &out, &errOut, lookupIn(env))
	if code == 0 || !strings.Contains(errOut.String(), "chmod 600") || strings.Contains(out.String(), "listening") {
		t.Fatalf("a key others may read: exit %d, %q %q", code, out.String(), errOut.String())
	}
}

// TestStaticFolderIsNotListed: /static/ serves files, never a listing.
func TestStaticFolderIsNotListed(t *testing.T) {
	h, _, _ := newTestRouter(t)
	for _, p := range []string{"/static/"} {
		if r := h.Do("GET", p, "", nil); r.Status != 404 || strings.Contains(string(r.Body), `href="style.css"`) {
			t.Errorf("GET %s: %d %.200s", p, r.Status, r.Body)
		}
	}
	h.Do("GET", "/static/style.css", "", nil).Expect(t, 200)
}
