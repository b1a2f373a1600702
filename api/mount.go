// Package api is Tremplin's JSON API, /api/v1: one type per domain whose
// handlers read the request, call the domain's service and answer through
// httpx (problem+json on error). The domains know no HTTP.
package api

import (
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/reports"
	"github.com/tremplin/tremplin/services"
)

// Config is what the API needs beside the services.
type Config struct {
	Services *services.Services
	// Reports reads the figures (nil: without impact factors).
	Reports *reports.Service
	// Files are the engine's routes that take uploaded files.
	Files *httpx.FileRoutes
	// Lookups limits the public lookups (a certificate) per client address
	// (nil: 20 at once, then one every 3 seconds).
	Lookups *httpx.ClientLimiter
}

// Mount mounts /api/v1 on e: the public routes, and every domain's behind
// RequireAuth.
func Mount(e *gin.Engine, c Config) error {
	s := c.Services
	if s == nil || c.Files == nil {
		return errors.New("api: the services and the engine's file routes are needed")
	}
	if c.Lookups == nil {
		c.Lookups = httpx.NewClientLimiter(3*time.Second, 20)
	}
	if c.Reports == nil {
		c.Reports = &reports.Service{DB: s.DB}
	}
	public := e.Group("/api/v1")
	authed := e.Group("/api/v1", RequireAuth(s.Partners))
	(&Partners{Service: s.Partners}).Routes(public, authed)
	inv := &Inventory{Service: s.Inventory, Scanners: []Scanner{s.Accessories.Scan, s.Distribution.ScanVoucher}, Files: c.Files, Lookups: c.Lookups}
	(&Accessories{Service: s.Accessories}).Routes(authed)
	inv.Routes(authed)
	inv.PublicRoutes(public)
	(&Recharges{Service: s.Recharges}).Routes(authed)
	(&Distribution{Service: s.Distribution}).Routes(authed)
	(&Reports{Service: c.Reports}).Routes(authed)
	return nil
}
