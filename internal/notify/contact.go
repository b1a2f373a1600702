package notify

import (
	"errors"
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// regions are France and the overseas territories whose mobile numbers a
// French SMS provider reaches as French ones.
var regions = []string{"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"}

// ErrNotMobile is a number that cannot receive an SMS.
var ErrNotMobile = errors.New("not a French or overseas mobile number")

// MobileE164 reads a mobile number as people write it (06 12 34 56 78,
// +33 6…, 0692 12 34 56 in La Réunion, 0690… in Guadeloupe) and returns
// it in E.164 (+33612345678, +262692123456).
func MobileE164(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	for _, region := range regions {
		n, err := phonenumbers.Parse(raw, region)
		if err != nil {
			continue
		}
		if !phonenumbers.IsValidNumber(n) {
			continue
		}
		if !slicesContains(regions, phonenumbers.GetRegionCodeForNumber(n)) {
			continue
		}
		if t := phonenumbers.GetNumberType(n); t != phonenumbers.MOBILE && t != phonenumbers.FIXED_LINE_OR_MOBILE {
			continue
		}
		return phonenumbers.Format(n, phonenumbers.E164), nil
	}
	return "", ErrNotMobile
}

// EmailAddress reads one plain email address.
func EmailAddress(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Address != raw || len(raw) > 254 || !strings.Contains(raw[strings.LastIndex(raw, "@"):], ".") {
		return "", errors.New("not an email address")
	}
	return raw, nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
