// Package apispec embeds the OpenAPI 3.1 description of the HTTP API, kept by
// hand in openapi.json and checked against the router by a test.
package apispec

import _ "embed"

// JSON is the OpenAPI document served at /api/openapi.json.
//
//go:embed openapi.json
var JSON []byte
