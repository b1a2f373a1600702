package partners_test

import (
	"fmt"
	"testing"
)

// TestNetworkIdentity: admins read and set the network's identity; a bad
// SIREN or RNA is a 422 that changes nothing; tax receipts need the legal
// name, the address and the SIREN; a donor keeps its SIREN (spaces
// removed), another kind of organisation refuses one; others may not.
func TestNetworkIdentity(t *testing.T) {
	f := newFixture(t)
	tokens := map[string]string{}
	for _, k := range []string{"admin", "warehouse", "prescriber"} {
		tokens[k] = f.login(k)
	}
	n := f.http.Do("GET", "/api/v1/network", tokens["admin"], nil).Expect(t, 200).Map(t)
	if n["legal_name"] != "" || n["tax_receipts"] != false {
		t.Fatalf("a new network: %v", n)
	}
	f.http.Do("PATCH", "/api/v1/network", tokens["admin"], map[string]any{"tax_receipts": true}).ExpectProblem(t, 422)
	p := f.http.Do("PATCH", "/api/v1/network", tokens["admin"], map[string]any{"legal_name": "Tremplin Réseau", "siren": "12345", "rna": "X1"}).ExpectProblem(t, 422)
	if errs, _ := p["errors"].([]any); len(errs) != 2 {
		t.Fatalf("bad SIREN and RNA: %v", p)
	}
	if n := f.http.Do("GET", "/api/v1/network", tokens["admin"], nil).Expect(t, 200).Map(t); n["legal_name"] != "" {
		t.Fatalf("a refused change was kept: %v", n)
	}
	n = f.http.Do("PATCH", "/api/v1/network", tokens["admin"], map[string]any{"legal_name": "Tremplin Réseau", "address": "1 rue de la Paix, 93100 Montreuil",
		"siren": "123 456 789", "rna": "w931234567", "purpose": "Réemploi solidaire", "tax_receipts": true}).Expect(t, 200).Map(t)
	if n["siren"] != "123456789" || n["rna"] != "W931234567" || n["tax_receipts"] != true {
		t.Fatalf("identity: %v", n)
	}
	for _, user := range []string{"warehouse", "prescriber"} {
		f.http.Do("GET", "/api/v1/network", tokens[user], nil).ExpectProblem(t, 403)
		f.http.Do("PATCH", "/api/v1/network", tokens[user], map[string]any{"legal_name": "x"}).ExpectProblem(t, 403)
	}
	donor := f.http.Do("POST", "/api/v1/organizations", tokens["admin"], map[string]any{"kind": "donor", "name": "Assurances SA", "siren": "552 100 554", "address": "2 avenue X, Paris"}).Expect(t, 201).Map(t)
	if donor["siren"] != "552100554" {
		t.Fatalf("donor: %v", donor)
	}
	f.http.Do("POST", "/api/v1/organizations", tokens["admin"], map[string]any{"kind": "donor", "name": "Mauvais SIREN", "siren": "55210055"}).ExpectProblem(t, 422)
	f.http.Do("POST", "/api/v1/organizations", tokens["admin"], map[string]any{"kind": "space", "name": "Espace", "siren": "552100554"}).ExpectProblem(t, 422)
	id := int64(donor["id"].(float64))
	got := f.http.Do("PATCH", fmt.Sprintf("/api/v1/organizations/%d", id), tokens["admin"], map[string]any{"siren": "732829320"}).Expect(t, 200).Map(t)
	if got["siren"] != "732829320" {
		t.Fatalf("patched donor: %v", got)
	}
}
