package inventory

import "encoding/json"

// mustJSON encodes event data; the values are plain maps of strings and
// numbers, so encoding cannot fail.
func mustJSON(v map[string]any) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}
