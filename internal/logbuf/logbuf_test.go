package logbuf

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a destination that goroutines may write and read.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLinesWaitForTheIntervalThenArriveInOrder(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, 50*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "one")
	fmt.Fprintln(w, "two")
	if got := dst.String(); got != "" {
		t.Fatalf("written before the interval: %q", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for dst.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := dst.String(); got != "one\ntwo\n" {
		t.Fatalf("after the interval: %q", got)
	}
	if dst.writes != 1 {
		t.Errorf("two lines took %d writes, want 1", dst.writes)
	}
}

func TestWarningsAreWrittenAtOnceWithWhatCameBefore(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, time.Hour)
	defer w.Close()
	logger := slog.New(Handler(slog.NewJSONHandler(w, nil), w, slog.LevelWarn)).With("app", "tremplin")
	logger.Info("request", "status", 200)
	if dst.String() != "" {
		t.Fatalf("an info line was written at once: %q", dst.String())
	}
	logger.WithGroup("g").Warn("expiry sweep failed")
	lines := strings.Split(strings.TrimSpace(dst.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg":"request"`) || !strings.Contains(lines[1], `"msg":"expiry sweep failed"`) ||
		!strings.Contains(lines[1], `"app":"tremplin"`) {
		t.Fatalf("after a warning: %q", lines)
	}
	logger.Error("boom", "error", context.Canceled)
	if !strings.Contains(dst.String(), `"msg":"boom"`) {
		t.Fatalf("an error waited: %q", dst.String())
	}
}

func TestAFullBufferIsWrittenWithoutWaiting(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, time.Hour)
	defer w.Close()
	line := strings.Repeat("x", 1023) + "\n"
	for range 64 {
		w.Write([]byte(line))
	}
	if got := len(dst.String()); got != 64*1024 {
		t.Fatalf("64 KB buffered: %d bytes written, want all of them", got)
	}
}

func TestCloseWritesWhatIsLeftAndThenWritesThrough(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, time.Hour)
	fmt.Fprintln(w, "last request")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	fmt.Fprintln(w, "shutdown complete")
	if got := dst.String(); got != "last request\nshutdown complete\n" {
		t.Fatalf("after close: %q", got)
	}
}

// Many goroutines log at once while the timer flushes: every line arrives
// once, whole, and each goroutine's lines in the order it wrote them.
func TestConcurrentLinesArriveWholeAndOnce(t *testing.T) {
	var dst lockedBuffer
	w := New(&dst, time.Millisecond)
	logger := slog.New(Handler(slog.NewTextHandler(w, nil), w, slog.LevelWarn))
	const goroutines, each = 32, 300
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if i%100 == 99 {
					logger.Warn("line", "g", g, "i", i)
				} else {
					logger.Info("line", "g", g, "i", i)
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, goroutines)
	lines := strings.Split(strings.TrimSuffix(dst.String(), "\n"), "\n")
	if len(lines) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(lines), goroutines*each)
	}
	for _, l := range lines {
		var g, i int
		j := strings.Index(l, " g=")
		if j < 0 {
			t.Fatalf("broken line %q", l)
		}
		if _, err := fmt.Sscanf(l[j:], " g=%d i=%d", &g, &i); err != nil {
			t.Fatalf("broken line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
}
