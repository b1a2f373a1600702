package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loginBurst sends 200 logins at once with the right password (the
// server's real argon2id cost) while reading the server's resident memory
// every 10 ms: its peak, and how fast the logins refused (429 or 503) are
// told so. The reference is the memory before the burst.
func loginBurst(ctx context.Context, e *env) (Result, error) {
	pid := e.server.Process.Pid
	before, err := rssMB(pid)
	if err != nil {
		return Result{}, err
	}
	var peak atomic.Uint64 // MB × 1000
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if mb, err := rssMB(pid); err == nil {
				for v := uint64(mb * 1000); ; {
					old := peak.Load()
					if v <= old || peak.CompareAndSwap(old, v) {
						break
					}
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	const n = 200
	type answer struct {
		status int
		took   time.Duration
	}
	answers := make([]answer, n)
	body := fmt.Sprintf(`{"email":"bench@tremplin.local","password":%q}`, benchPassword)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			t := time.Now()
			resp, err := client.Post(e.baseURL+"/api/v1/auth/login", "application/json", strings.NewReader(body))
			if err != nil {
				answers[i] = answer{-1, time.Since(t)}
				return
			}
			resp.Body.Close()
			answers[i] = answer{resp.StatusCode, time.Since(t)}
		})
	}
	close(start)
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // the memory a moment after
	close(stop)
	<-sampled
	statuses := map[int]int{}
	var refused []time.Duration
	for _, a := range answers {
		statuses[a.status]++
		if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
			refused = append(refused, a.took)
		}
	}
	slices.Sort(refused)
	slowest := "none refused"
	if len(refused) > 0 {
		slowest = fmt.Sprintf("refused answered in at most %.0f ms (median %.0f ms)", ms(refused[len(refused)-1]), ms(refused[len(refused)/2]))
	}
	mb := float64(peak.Load()) / 1000
	return Result{
		Value: f64(mb), Unit: "MB peak", Reference: "RSS before the burst", ReferenceValue: f64(before),
		Note: fmt.Sprintf("200 concurrent logins: %v; %s", statuses, slowest),
	}, nil
}
