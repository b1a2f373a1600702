// Package invariant is what `tremplin check` reports: each domain verifies
// its own rules over the database and says each broken one for a person.
package invariant

// Breach is one broken invariant.
type Breach struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
}
