package httpx

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Created answers 201 with the new record and its Location.
func Created(c *gin.Context, location string, v any) error {
	c.Header("Location", location)
	c.JSON(http.StatusCreated, v)
	return nil
}

// PDF answers a document to open in the browser.
func PDF(c *gin.Context, filename string, b []byte) error {
	SendFile(c, filename, "application/pdf", b, true)
	return nil
}

// SendFile is the one way a file leaves Tremplin: a document to open in the
// browser (inline) or to download. None is ever cached, by the browser or a
// proxy: every file names people, holds codes or PINs, or tells a network's
// figures. The name is quoted as RFC 6266 says, whatever it holds.
func SendFile(c *gin.Context, filename, contentType string, b []byte, inline bool) {
	disposition := "attachment"
	if inline {
		disposition = "inline"
	}
	if d := mime.FormatMediaType(disposition, map[string]string{"filename": filename}); d != "" {
		disposition = d
	}
	c.Header("Content-Disposition", disposition)
	c.Header("Cache-Control", "no-store")
	if inline && contentType == "application/pdf" {
		// A page of this site may print a PDF from a frame of its own
		// (« Enregistrer et imprimer »); no other site may frame it.
		c.Header("X-Frame-Options", "SAMEORIGIN")
		c.Header("Content-Security-Policy", strings.Replace(c.Writer.Header().Get("Content-Security-Policy"),
			"frame-ancestors 'none'", "frame-ancestors 'self'", 1))
	}
	c.Data(http.StatusOK, contentType, b)
}

// QueryID reads an optional positive id from the query string (0 when
// absent), recording a problem in v when it is not one.
func QueryID(c *gin.Context, name string, v *apperr.ValidationError) int64 {
	s := c.Query(name)
	if s == "" {
		return 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		v.Field(name, "must be a positive whole number")
		return 0
	}
	return id
}

// OK answers 200 with v, or returns err: the last line of most handlers.
func OK(c *gin.Context, v any, err error) error {
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}
