// Package logbuf batches a server's log lines into few writes. Under load a
// line per request written straight to stderr costs a system call per
// request, made while slog's handler holds its lock, so that every request
// in flight queued behind the log (the scan bench measured a tenth of the
// throughput and most of the tail above the bare reference there). Lines
// now wait at most a tenth of a second, and a warning or an error is
// written at once, with everything before it.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer buffers what is written to it and passes it on to its destination
// when the buffer fills, every interval, on Flush and on Close.
type Writer struct {
	dst      io.Writer
	limit    int
	mu       sync.Mutex // guards buf and closed
	buf      []byte
	closed   bool
	flushing sync.Mutex // keeps the writes to dst in order
	stop     chan struct{}
	stopped  chan struct{}
}

// New returns a Writer to dst that writes at least every interval.
func New(dst io.Writer, interval time.Duration) *Writer {
	w := &Writer{dst: dst, limit: 64 << 10, stop: make(chan struct{}), stopped: make(chan struct{})}
	go w.tick(interval)
	return w
}

func (w *Writer) tick(interval time.Duration) {
	defer close(w.stopped)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush() // nowhere to report a failing stderr
		}
	}
}

// Write keeps p for the next flush; once closed, it writes through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.flushing.Lock()
		defer w.flushing.Unlock()
		return w.dst.Write(p)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= w.limit
	w.mu.Unlock()
	if full {
		if err := w.Flush(); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes what is buffered. Writers keep appending meanwhile: the
// buffer is swapped out, so they never wait on the destination.
func (w *Writer) Flush() error {
	w.flushing.Lock()
	defer w.flushing.Unlock()
	w.mu.Lock()
	out := w.buf
	w.buf = nil
	w.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	_, err := w.dst.Write(out)
	return err
}

// Close stops the timer and writes what is left; later writes go straight
// through. It may be called more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		close(w.stop)
		<-w.stopped
	}
	return w.Flush()
}

// Handler wraps h so that a record at level urgent or above reaches w's
// destination at once, with the lines before it: a warning or an error is
// read when it happens, and survives a crash that follows it.
func Handler(h slog.Handler, w *Writer, urgent slog.Level) slog.Handler {
	return urgentHandler{Handler: h, w: w, urgent: urgent}
}

type urgentHandler struct {
	slog.Handler
	w      *Writer
	urgent slog.Level
}

func (h urgentHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.urgent {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h urgentHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return urgentHandler{Handler: h.Handler.WithAttrs(attrs), w: h.w, urgent: h.urgent}
}

func (h urgentHandler) WithGroup(name string) slog.Handler {
	return urgentHandler{Handler: h.Handler.WithGroup(name), w: h.w, urgent: h.urgent}
}
