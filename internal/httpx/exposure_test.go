package httpx_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestLogsNameRoutesNotCodes: the access log says a request's route
// pattern, never its path: a voucher's code is a bearer secret. An address
// no route matched is said by its first segment. Before, every line carried
// the path, /api/v1/vouchers/{code} included.
func TestLogsNameRoutesNotCodes(t *testing.T) {
	logs := &testenv.LockedBuffer{}
	e := newEngine(t, logs)
	e.GET("/api/v1/vouchers/:code", func(c *gin.Context) { c.String(http.StatusNotFound, "no") })
	e.GET("/bons/:code", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	h := testenv.NewHTTP(t, e)
	h.SkipSpec = true
	h.Do("GET", "/api/v1/vouchers/K7QX-P3MD-9TRW", "", nil)
	h.Do("GET", "/bons/K7QX-P3MD-9TRX", "", nil)
	h.Do("GET", "/nowhere/K7QX-P3MD-9TRY/more", "", nil)
	out := logs.String()
	if strings.Contains(out, "K7QX") {
		t.Fatalf("a code reached the log:\n%s", out)
	}
	for _, want := range []string{`"route":"/api/v1/vouchers/:code"`, `"route":"/bons/:code"`, `"route":"/nowhere/… (unmatched)"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// TestMetricsAreNotForEveryone: /metrics answers this machine, or a
// scraper with the configured token; a client reaching it through the
// proxy is refused, and so is a wrong token. Before, anyone could read
// every site's stock and every route's traffic.
func TestMetricsAreNotForEveryone(t *testing.T) {
	m := httpx.NewMetrics()
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.DiscardHandler), Metrics: m, TrustedProxies: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.GET("/metrics", m.Guarded("s3cret-scrape"))
	h := testenv.NewHTTP(t, e)
	h.SkipSpec = true
	h.Do("GET", "/metrics", "", nil).Expect(t, 200)
	h.Do("GET", "/metrics", "", nil, "X-Forwarded-For", "203.0.113.9").ExpectProblem(t, 403)
	h.Do("GET", "/metrics", "s3cret-scrape", nil, "X-Forwarded-For", "203.0.113.9").Expect(t, 200)
	h.Do("GET", "/metrics", "wrong", nil, "X-Forwarded-For", "203.0.113.9").ExpectProblem(t, 401)
	h.Do("GET", "/metrics", "wrong", nil).ExpectProblem(t, 401)
}
