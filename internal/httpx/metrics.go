package httpx

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Metrics holds the Prometheus registry of one process; it is passed in, never
// global, so tests get their own.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP, Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tremplin_http_requests_total",
			Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tremplin_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	m.Registry.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Guarded serves the registry to this machine (a scraper beside the
// server), or to whoever sends token as a bearer token: the figures tell
// the stock of every site and the traffic of every route. A request through
// a trusted proxy is judged by the address the proxy names.
func (m *Metrics) Guarded(token string) gin.HandlerFunc {
	h := m.Handler()
	return func(c *gin.Context) {
		if sent, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && token != "" {
			if subtle.ConstantTimeCompare([]byte(sent), []byte(token)) == 1 {
				h.ServeHTTP(c.Writer, c.Request)
				return
			}
			Fail(c, fmt.Errorf("wrong metrics token: %w", apperr.ErrUnauthenticated))
			return
		}
		if local(c.ClientIP()) && local(remoteIP(c.Request.RemoteAddr)) {
			h.ServeHTTP(c.Writer, c.Request)
			return
		}
		Fail(c, fmt.Errorf("metrics are served to this machine, or with the bearer token set as TREMPLIN_METRICS_TOKEN: %w", apperr.ErrForbidden))
	}
}

func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func local(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Unmap().IsLoopback()
}

func (m *Metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched" // keeps label cardinality bounded
		}
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}
