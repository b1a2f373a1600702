package ui

import (
	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/partners"
)

// currentCaller is who the session middleware let in.
func currentCaller(c *gin.Context) (partners.Caller, error) {
	return partners.CallerFrom(c.Request.Context())
}
