package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// PrivatePostgres is a PostgreSQL server of the test's own, that the test may
// stop and start without disturbing the rest of the suite.
type PrivatePostgres struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	URL  string
}

// StartPrivatePostgres initialises and starts a throwaway cluster (initdb,
// pg_ctl from Debian's PostgreSQL packages) as the postgres system user.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		Missing(t, "no initdb: install Debian's postgresql package")
	}
	if _, err := user.Lookup("postgres"); err != nil || os.Geteuid() != 0 {
		Missing(t, "a private PostgreSQL needs root and the postgres system user")
	}
	p := &PrivatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "tremplin-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() {
		_ = p.run("pg_ctl", "-D", p.dataDir(), "stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := p.run("initdb", "-D", p.dataDir(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	p.Start()
	return p
}

func (p *PrivatePostgres) dataDir() string { return filepath.Join(p.dir, "data") }

func (p *PrivatePostgres) run(tool string, args ...string) error {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", tool, err, out)
	}
	return nil
}

// Start starts the server and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	opts := "-p " + strconv.Itoa(p.Port) + " -k " + p.dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
	if err := p.run("pg_ctl", "-D", p.dataDir(), "-o", opts, "-w", "-l", filepath.Join(p.dir, "log"), "start"); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatal("private PostgreSQL did not come up")
}

// Stop stops the server at once, cutting every connection.
func (p *PrivatePostgres) Stop() {
	p.t.Helper()
	if err := p.run("pg_ctl", "-D", p.dataDir(), "-w", "stop", "-m", "fast"); err != nil {
		p.t.Fatal(err)
	}
}
