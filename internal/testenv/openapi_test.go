package testenv

import (
	"net/http"
	"strings"
	"testing"
)

// TestCheckExchangeCatchesDisagreements: the check is not a formality. An
// answer whose body breaks its schema, a status the document does not know
// and a request the document refuses that the server took are all caught.
func TestCheckExchangeCatchesDisagreements(t *testing.T) {
	ok := &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"items":[{"name":"a4-3x8","description":"x","media":"A4","width_mm":70,"height_mm":37,"columns":3,"rows":8,"dpi":300}]}`)}
	if p := checkExchange("GET", "http://x/api/v1/label-layouts", http.Header{"Authorization": {"Bearer trp_x"}}, nil, ok); len(p) != 0 {
		t.Fatalf("a good exchange: %v", p)
	}
	bad := &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"items":"everything"}`)}
	if p := checkExchange("GET", "http://x/api/v1/label-layouts", http.Header{}, nil, bad); len(p) == 0 {
		t.Fatal("a body against its schema passed")
	}
	took := &Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":1}`)}
	p := checkExchange("POST", "http://x/api/v1/organizations", http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer trp_x"}}, []byte(`{"kind":"castle"}`), took)
	if len(p) == 0 || !strings.Contains(strings.Join(p, " "), "request") {
		t.Fatalf("a request the document refuses, taken with 201: %v", p)
	}
}
