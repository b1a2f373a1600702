package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// HTTP is a real HTTP server around a handler, with one-line requests.
type HTTP struct {
	t      testing.TB
	URL    string
	Client *http.Client
	// SkipSpec turns off the check of each exchange against openapi.json,
	// for the benchmarks of the server itself.
	SkipSpec bool
}

// NewHTTP serves h on a loopback port for the test's duration.
func NewHTTP(t testing.TB, h http.Handler) *HTTP {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &HTTP{t: t, URL: srv.URL, Client: c}
}

// Response is a fully read answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request. body may be nil, a string or []byte (sent as is), or any
// other value (sent as JSON). headers are name, value pairs.
func (h *HTTP) Do(method, path, token string, body any, headers ...string) *Response {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		raw = j
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.URL+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// Errorf, not Fatal: race tests call Do from many goroutines, where
	// Fatal must not be called. A failed exchange has status 0.
	resp, err := h.Client.Do(req)
	if err != nil {
		h.t.Errorf("%s %s: %v", method, path, err)
		return &Response{Header: http.Header{}, Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Errorf("%s %s: read the answer: %v", method, path, err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if !h.SkipSpec {
		for _, p := range checkExchange(method, h.URL+path, req.Header, raw, out) {
			h.t.Errorf("%s", p)
		}
	}
	return out
}

// Field is one field of a JSON object body, or nil: safe in any goroutine
// (Map and Decode stop the test, which only the test's own goroutine may).
func (r *Response) Field(name string) any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m[name]
}

// Map decodes a JSON object body.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes a JSON body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode body: %v\n%s", err, r.Body)
	}
}

// Expect fails the test unless the status matches, showing the body.
func (r *Response) Expect(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// ExpectProblem checks a problem+json answer with the given status.
func (r *Response) ExpectProblem(t testing.TB, status int) map[string]any {
	t.Helper()
	r.Expect(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json: %s", ct, r.Body)
	}
	m := r.Map(t)
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("problem without %q: %s", k, r.Body)
		}
	}
	if int(m["status"].(float64)) != status {
		t.Fatalf("problem status %v, want %d", m["status"], status)
	}
	return m
}

// LockedBuffer is a bytes.Buffer safe for a writer goroutine and a reading test.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
