package inventory

import (
	"context"
	"fmt"
	"regexp"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/partners"
)

// Asset tags read PREFIX-NNNNN, e.g. TEL-00042: a prefix per category that
// admins choose, and a number per prefix that only grows.

var validPrefix = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,5}$`)

// nextTags reserves n tags for a category inside tx. The counter row is
// updated with one UPDATE ... RETURNING, so concurrent registrations queue on
// that row (PostgreSQL) or on the write lock (SQLite) and never share a number.
func nextTags(tx *gorm.DB, category Category, n int) ([]string, error) {
	var prefix string
	if err := tx.Raw(`SELECT prefix FROM tag_prefixes WHERE category = ?`, category).Scan(&prefix).Error; err != nil {
		return nil, fmt.Errorf("tag prefix of %s: %w", category, err)
	}
	if prefix == "" {
		return nil, fmt.Errorf("no tag prefix for category %s", category)
	}
	if err := tx.Exec(`INSERT INTO tag_counters (prefix, last_number) VALUES (?, 0) ON CONFLICT (prefix) DO NOTHING`, prefix).Error; err != nil {
		return nil, fmt.Errorf("tag counter %s: %w", prefix, err)
	}
	var last int64
	if err := tx.Raw(`UPDATE tag_counters SET last_number = last_number + ? WHERE prefix = ? RETURNING last_number`, n, prefix).
		Scan(&last).Error; err != nil {
		return nil, fmt.Errorf("take tag numbers %s: %w", prefix, err)
	}
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("%s-%05d", prefix, last-int64(n)+int64(i)+1)
	}
	return tags, nil
}

// TagPrefixes returns the asset tag prefix of each category.
func (s *Service) TagPrefixes(ctx context.Context) (map[Category]string, error) {
	var rows []struct {
		Category Category
		Prefix   string
	}
	if err := s.db.WithContext(ctx).Table("tag_prefixes").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("tag prefixes: %w", err)
	}
	out := map[Category]string{}
	for _, r := range rows {
		out[r.Category] = r.Prefix
	}
	return out, nil
}

// SetTagPrefixes changes the prefixes of the given categories (admins only).
// Tags already printed keep their prefix; new devices get the new one.
func (s *Service) SetTagPrefixes(ctx context.Context, c partners.Caller, in map[string]string) (map[Category]string, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return nil, err
	}
	v := &apperr.ValidationError{}
	if len(in) == 0 {
		v.Field("", "give at least one category and its prefix, e.g. {\"smartphone\":\"TEL\"}")
	}
	for cat, p := range in {
		if !Category(cat).Valid() {
			v.Field(cat, "is not a category (smartphone, feature_phone, laptop, tablet, desktop, other)")
		} else if !validPrefix.MatchString(p) {
			v.Field(cat, "prefix %q must be 1 to 6 capital letters or digits, starting with a letter", p)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		for cat, p := range in {
			if err := tx.Exec(`UPDATE tag_prefixes SET prefix = ? WHERE category = ?`, p, cat).Error; err != nil {
				return fmt.Errorf("set prefix of %s: %w", cat, err)
			}
		}
		data := map[string]any{}
		for k, v := range in {
			data[k] = v
		}
		return audit.Record(ctx, tx, "tag_prefixes.update", "tag_prefixes", 0, data)
	})
	if err != nil {
		return nil, err
	}
	return s.TagPrefixes(ctx)
}
