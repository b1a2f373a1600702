package httpx_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/testenv"
)

func newEngine(t *testing.T, logs io.Writer) *gin.Engine {
	t.Helper()
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Metrics: httpx.NewMetrics()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPanicBecomesLogged500(t *testing.T) {
	logs := &testenv.LockedBuffer{}
	e := newEngine(t, logs)
	e.GET("/boom", func(*gin.Context) { panic("kaboom") })
	h := testenv.NewHTTP(t, e)
	p := h.Do("GET", "/boom", "", nil, "X-Request-ID", "req-42").ExpectProblem(t, 500)
	if strings.Contains(p["detail"].(string), "kaboom") {
		t.Fatal("panic value leaked to the client")
	}
	if p["request_id"] != "req-42" {
		t.Fatalf("request id %v", p["request_id"])
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), "req-42") {
		t.Fatalf("panic not logged with its request id:\n%s", logs)
	}
	// The server still answers.
	h.Do("GET", "/nothing-here", "", nil).ExpectProblem(t, 404)
}

func TestRequestIDAndAccessLog(t *testing.T) {
	logs := &testenv.LockedBuffer{}
	e := newEngine(t, logs)
	e.GET("/ok", func(c *gin.Context) { c.String(200, "ok") })
	h := testenv.NewHTTP(t, e)
	r := h.Do("GET", "/ok", "", nil, "X-Request-ID", "abc-123")
	if r.Header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id not echoed: %q", r.Header.Get("X-Request-ID"))
	}
	r = h.Do("GET", "/ok", "", nil, "X-Request-ID", "bad id with spaces; and <script>")
	if id := r.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe request id kept: %q", id)
	}
	if !strings.Contains(logs.String(), `"route":"/ok"`) || !strings.Contains(logs.String(), `"request_id":"abc-123"`) {
		t.Fatalf("access log lacks route or request id:\n%s", logs)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatal("security headers missing")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEngine(t, io.Discard)
	e.GET("/only-get", func(c *gin.Context) { c.String(200, "ok") })
	testenv.NewHTTP(t, e).Do("DELETE", "/only-get", "", nil).ExpectProblem(t, 405)
}

func TestDecodeJSON(t *testing.T) {
	e := newEngine(t, io.Discard)
	e.POST("/echo", httpx.Handle(func(c *gin.Context) error {
		var in struct {
			Name string `json:"name"`
			N    int    `json:"n"`
		}
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		c.JSON(200, in)
		return nil
	}))
	h := testenv.NewHTTP(t, e)
	h.Do("POST", "/echo", "", `{"name":"é","n":2,"extra":true}`).Expect(t, 200)
	for body, status := range map[string]int{
		``:                        400,
		`   `:                     400,
		`{`:                       400,
		`{"n":"two"}`:             400,
		`{"n":1e400}`:             400,
		`[1,2]`:                   400,
		`null x`:                  400,
		"{\"name\":\"\xff\xfe\"}": 200, // invalid UTF-8 is replaced, not a crash
		`{"name":"` + strings.Repeat("a", httpx.MaxJSONBody) + `"}`: 413,
	} {
		p := h.Do("POST", "/echo", "", body)
		if p.Status != status {
			t.Errorf("body %.40q: status %d, want %d: %s", body, p.Status, status, p.Body)
		}
	}
	p := h.Do("POST", "/echo", "", `{"n":"two"}`).ExpectProblem(t, 400)
	if !strings.Contains(p["detail"].(string), `"n"`) {
		t.Errorf("detail %q does not name the field", p["detail"])
	}
}

// TestServeFinishesInFlightRequests cancels the server's context (what
// SIGTERM does) while a request is running: the request completes, new
// connections are refused, and Serve returns nil.
func TestServeFinishesInFlightRequests(t *testing.T) {
	e := newEngine(t, io.Discard)
	started := make(chan struct{})
	e.GET("/slow", func(c *gin.Context) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		c.String(200, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- httpx.Serve(ctx, ln, e, 5*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-started
	cancel()
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/slow"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}
