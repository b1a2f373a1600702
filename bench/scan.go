package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/gin-gonic/gin"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/tremplin/tremplin/inventory"
)

const scanDevices = 100_000

// scanLookup loads GET /api/v1/scan/{tag} with a bearer token at 64
// connections, beside a bare Gin + GORM server looking the same table up by
// its unique key, under the same load.
func scanLookup(ctx context.Context, e *env) (Result, error) {
	if err := e.seedDevices(ctx, scanDevices); err != nil {
		return Result{}, err
	}
	refCmd := exec.Command(os.Args[0], "-reference-server", e.dbURL)
	refCmd.Stderr = os.Stderr
	refURL, err := startAndWaitListening(refCmd)
	if err != nil {
		return Result{}, fmt.Errorf("reference server: %w", err)
	}
	defer func() { _ = refCmd.Process.Kill(); _ = refCmd.Wait() }()

	d := 20 * time.Second
	if e.quick {
		d = 6 * time.Second
	}
	hdr := http.Header{"Authorization": {"Bearer " + e.token}}
	// Warm both up, then measure each in turn.
	attack(e.baseURL+"/api/v1/scan/", hdr, time.Second)
	attack(refURL+"/scan/", nil, time.Second)
	project := attack(e.baseURL+"/api/v1/scan/", hdr, d)
	reference := attack(refURL+"/scan/", nil, d)
	if project.Success < 0.999 {
		return Result{}, fmt.Errorf("only %.1f%% of scans succeeded: %v %v", project.Success*100, project.StatusCodes, project.Errors)
	}
	return Result{
		Value: f64(project.Throughput), Unit: "req/s",
		Reference: "bare Gin+GORM by unique key", ReferenceValue: f64(reference.Throughput),
		Note: fmt.Sprintf("p99 %.1f ms (reference %.1f ms), %d devices, 64 connections",
			ms(project.Latencies.P99), ms(reference.Latencies.P99), scanDevices),
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// attack sends GETs of random tags at the fastest rate 64 connections allow.
func attack(prefix string, hdr http.Header, d time.Duration) vegeta.Metrics {
	return attackWith(prefix, hdr, d, 64)
}

// attackWith is attack at n connections.
func attackWith(prefix string, hdr http.Header, d time.Duration, n int) vegeta.Metrics {
	targeter := func(t *vegeta.Target) error {
		t.Method = "GET"
		t.URL = fmt.Sprintf("%sBEN-%06d", prefix, 1+rand.IntN(scanDevices))
		t.Header = hdr
		return nil
	}
	a := vegeta.NewAttacker(vegeta.Connections(n), vegeta.Workers(uint64(n)), vegeta.MaxWorkers(uint64(n)), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	for res := range a.Attack(targeter, vegeta.Rate{Freq: 0}, d, "scan") {
		m.Add(res)
	}
	m.Close()
	return m
}

// referenceServer is the reference: Gin and GORM, one route, one lookup by
// unique key on the devices table, no auth, no middleware but the router's.
func referenceServer(dsn string) int {
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(24)
	sqlDB.SetMaxIdleConns(24)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/scan/:code", func(c *gin.Context) {
		var d inventory.Device
		if err := db.WithContext(c.Request.Context()).Where("tag = ?", c.Param("code")).Take(&d).Error; err != nil {
			c.Status(http.StatusNotFound)
			return
		}
		c.JSON(http.StatusOK, gin.H{"kind": "device", "device": d})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("reference listening on http://%s\n", ln.Addr())
	if err := http.Serve(ln, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// rss reports the server's resident memory after the loads before it.
func rss(ctx context.Context, e *env) (Result, error) {
	mb, err := rssMB(e.server.Process.Pid)
	if err != nil {
		return Result{}, err
	}
	return Result{Value: f64(mb), Unit: "MB", Note: "tremplin serve after the scenarios above"}, nil
}
