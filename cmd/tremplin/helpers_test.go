package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/ui"

	"github.com/tremplin/tremplin/internal/testenv"
)

// sessionCookie is the pages' session cookie.
const sessionCookie = ui.SessionCookie

// testEnv is the environment of one command run: a fresh database of the
// suite's engine, a cheap password hash, quiet logs.
func testEnv(t *testing.T) map[string]string {
	return map[string]string{
		"TREMPLIN_DATA_DIR":          t.TempDir(),
		"TREMPLIN_DATABASE_URL":      testenv.TargetURL(t),
		"TREMPLIN_ARGON2_MEMORY_KIB": "64",
		"TREMPLIN_LOG_LEVEL":         "warn",
		"TREMPLIN_SECRET_KEY":        testKey,
	}
}

// testKey seals PINs in the command tests (32 bytes, base64).
const testKey = "dGVzdCBrZXkgb2YgMzIgYnl0ZXMgZm9yIFRyZW1wbGk="

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// runCmd runs the command in-process and returns its exit code and output.
func runCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut testenv.LockedBuffer
	code := run(context.Background(), args, &out, &errOut, lookupIn(env))
	return code, out.String(), errOut.String()
}

// runBinary runs a command of the built binary on env, and fails the test
// unless it succeeds saying want.
func runBinary(t *testing.T, env map[string]string, want string, args ...string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("tremplin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// server is `tremplin serve` running in-process.
type server struct {
	URL    string
	Out    *testenv.LockedBuffer
	Err    *testenv.LockedBuffer
	cancel context.CancelFunc
	done   chan int
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startServe runs `tremplin serve --addr 127.0.0.1:0 args...` until the test
// ends, and waits until it listens.
func startServe(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Out: &testenv.LockedBuffer{}, Err: &testenv.LockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), s.Out, s.Err, lookupIn(env))
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(s.Out.String()); m != nil {
			s.URL = m[1]
			t.Cleanup(func() { s.Stop(t) })
			return s
		}
		select {
		case code := <-s.done:
			cancel()
			t.Fatalf("serve exited with %d before listening:\n%s\n%s", code, s.Out, s.Err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not listen within 60s:\n%s\n%s", s.Out, s.Err)
	return nil
}

// Stop shuts the server down as SIGTERM would and returns its exit code.
func (s *server) Stop(t *testing.T) int {
	if s.done == nil {
		return 0
	}
	s.cancel()
	select {
	case code := <-s.done:
		s.done = nil
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s")
	}
	return -1
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// binary builds the tremplin command once per test run, for the tests that
// need real processes (signals, concurrent migrations).
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tremplin-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "tremplin")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("build tremplin: %v\n%s", binErr, binPath)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func environ(env map[string]string) []string {
	out := os.Environ()
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}
