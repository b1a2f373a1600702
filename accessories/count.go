package accessories

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Quantity is how many of one accessory: found on a site's shelves by a
// stock check, carried by a transfer, brought back on a refund.
type Quantity struct {
	AccessoryID int64 `json:"accessory_id"`
	Quantity    int   `json:"quantity"`
}

// Difference is a counted accessory beside what the ledger says the site
// holds; CorrectedBy is the correction that settled it, once made.
type Difference struct {
	AccessoryID int64  `json:"accessory_id"`
	Name        string `json:"name"`
	Expected    int    `json:"expected"`
	Counted     int    `json:"counted"`
	Difference  int    `json:"difference"`
	CorrectedBy *int64 `json:"corrected_by"`
}

// Compare reads in tx what the ledger says a site holds of each counted
// accessory. Only what was counted is compared: a site may count its
// chargers today and its cables another day.
func (s *Service) Compare(tx *gorm.DB, siteID int64, counted []Quantity) ([]Difference, error) {
	out := []Difference{}
	if len(counted) == 0 {
		return out, nil
	}
	v := &apperr.ValidationError{}
	seen := map[int64]bool{}
	ids := make([]int64, 0, len(counted))
	for i, c := range counted {
		field := fmt.Sprintf("accessories[%d]", i)
		if seen[c.AccessoryID] {
			v.Field(field+".accessory_id", "accessory %d is counted twice", c.AccessoryID)
		}
		seen[c.AccessoryID] = true
		if c.Quantity < 0 || c.Quantity > maxMove {
			v.Field(field+".quantity", "must be a whole number from 0 to %d", maxMove)
		}
		ids = append(ids, c.AccessoryID)
	}
	var rows []struct {
		ID        int64
		Name      string
		Available *int
	}
	if err := tx.Raw(`SELECT a.id, a.name, st.available FROM accessories a
		LEFT JOIN accessory_stock st ON st.accessory_id = a.id AND st.site_id = ? WHERE a.id IN ?`, siteID, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("accessory stock of site %d: %w", siteID, err)
	}
	known := map[int64]int{}
	for i, r := range rows {
		known[r.ID] = i
	}
	for i, c := range counted {
		if _, ok := known[c.AccessoryID]; !ok {
			v.Field(fmt.Sprintf("accessories[%d].accessory_id", i), "no accessory %d", c.AccessoryID)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, c := range counted {
		r := rows[known[c.AccessoryID]]
		expected := 0
		if r.Available != nil {
			expected = *r.Available
		}
		out = append(out, Difference{AccessoryID: r.ID, Name: r.Name, Expected: expected, Counted: c.Quantity, Difference: c.Quantity - expected})
	}
	return out, nil
}
