package main

// What a newcomer stumbled on at the command line (issue 12).

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCommandsRefuseAMissingSQLiteFile: `check` and `migrate status` on a
// path with no database say so, and create nothing; `migrate up` creates it.
func TestCommandsRefuseAMissingSQLiteFile(t *testing.T) {
	env := testEnv(t)
	path := filepath.Join(t.TempDir(), "typo.db")
	env["TREMPLIN_DATABASE_URL"] = path
	for _, args := range [][]string{{"check"}, {"migrate", "status"}, {"keys", "rotate"}} {
		code, _, stderr := runCmd(t, env, args...)
		if code == 0 || !strings.Contains(stderr, "no database at "+path) {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, path)
		}
	}
	if code, _, stderr := runCmd(t, env, "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %s", stderr)
	}
	if code, out, stderr := runCmd(t, env, "check"); code != 0 || !strings.Contains(out, "All invariants hold") {
		t.Fatalf("check after migrate up: %d %s %s", code, out, stderr)
	}
}

// TestImportRechargesSaysWhatIsMissing names the missing flag or file.
func TestImportRechargesSaysWhatIsMissing(t *testing.T) {
	env := testEnv(t)
	for args, want := range map[string]string{
		"--site 1 cards.csv":       "missing --product",
		"--product 1 cards.csv":    "missing --site",
		"--product 1 --site 1":     "missing the operator's CSV file",
		"--product 0 --site 1 x":   "missing --product",
		"--product 1 --site 1 a b": "one file at a time",
	} {
		code, _, stderr := runCmd(t, env, append([]string{"import-recharges"}, strings.Fields(args)...)...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("import-recharges %s: exit %d, %q", args, code, stderr)
		}
	}
}

// TestServeOnABusyPortCreatesNoAdmin: the port is taken, so serve fails
// before making (and printing the password of) an account.
func TestServeOnABusyPortCreatesNoAdmin(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := testEnv(t)
	code, out, stderr := runCmd(t, env, "serve", "--addr", busy.Addr().String())
	if code == 0 || !strings.Contains(stderr, "cannot listen") || strings.Contains(out, "password") {
		t.Fatalf("exit %d, out %q, err %q", code, out, stderr)
	}
	// The next start, on a free port, makes the admin and says its password.
	s := startServe(t, env)
	if !strings.Contains(s.Out.String(), "password:") {
		t.Fatalf("no first admin after the failed start:\n%s", s.Out)
	}
}

// TestAdminPasswordCommand sets a new password from the terminal: the old
// one stops working, every session ends.
func TestAdminPasswordCommand(t *testing.T) {
	env := testEnv(t)
	s := startServe(t, env)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(s.Out.String())
	if m == nil {
		t.Fatalf("no admin password printed:\n%s", s.Out)
	}
	token := login(t, s.URL, "admin@tremplin.local", m[1])
	code, out, stderr := runCmd(t, env, "admin", "password", "--email", "Admin@Tremplin.local")
	fresh := regexp.MustCompile(`\(shown only now\): (\S+)`).FindStringSubmatch(out)
	if code != 0 || fresh == nil {
		t.Fatalf("exit %d, %q %q", code, out, stderr)
	}
	login(t, s.URL, "admin@tremplin.local", fresh[1])
	if status := meStatus(t, s.URL, token); status != 401 {
		t.Fatalf("a session from before the change: %d", status)
	}
	if code, _, _ := runCmd(t, env, "admin", "password", "--email", "admin@tremplin.local", "--password", "short"); code == 0 {
		t.Fatal("a short password was set")
	}
	if code, _, stderr := runCmd(t, env, "admin", "password", "--email", "nobody@example.org"); code == 0 || !strings.Contains(stderr, "no account with email") {
		t.Fatalf("unknown email: %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, env, "admin", "password"); code != 2 || !strings.Contains(stderr, "missing --email") {
		t.Fatalf("no email: %d %q", code, stderr)
	}
}
