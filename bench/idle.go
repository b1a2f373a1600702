package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// idleRSS is the resident memory of `tremplin serve` on an empty embedded
// SQLite database, idle: on its first start (which creates and hashes the
// first admin's password) and on a second start of the same data
// directory; beside the bench's reference server (Gin + GORM, one route)
// idle on PostgreSQL.
func idleRSS(ctx context.Context, e *env) (Result, error) {
	dir, err := os.MkdirTemp("", "tremplin-idle-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TREMPLIN_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TREMPLIN_DATA_DIR="+filepath.Join(dir, "data"))
	settle := 3 * time.Second
	measure := func(cmd *exec.Cmd) (float64, error) {
		if _, err := startAndWaitListening(cmd); err != nil {
			return 0, err
		}
		defer func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}()
		select {
		case <-time.After(settle): // the first admin's hash, the pools, the GC
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return rssMB(cmd.Process.Pid)
	}
	var starts []float64
	for range 2 {
		cmd := exec.CommandContext(ctx, e.bin, "serve", "--addr", "127.0.0.1:0")
		cmd.Env = env
		mb, err := measure(cmd)
		if err != nil {
			return Result{}, fmt.Errorf("serve on SQLite: %w", err)
		}
		starts = append(starts, mb)
	}
	ref, err := measure(exec.CommandContext(ctx, os.Args[0], "-reference-server", e.dbURL))
	if err != nil {
		return Result{}, fmt.Errorf("reference server: %w", err)
	}
	return Result{Value: f64(starts[1]), Unit: "MB", Reference: "Gin+GORM reference server, idle", ReferenceValue: f64(ref),
		Note: fmt.Sprintf("empty SQLite, idle %s after start; %.1f MB on the first start (the admin's password hashed)", settle, starts[0])}, nil
}
