package inventory

import (
	"fmt"

	"gorm.io/gorm"
)

// resolveCodes finds the devices scanned codes name, as findByCode does one
// code (a tag, with or without its dash, else an IMEI or a serial, a
// device not recycled first, then the newest), in two statements for the
// whole list: one by tag, one by IMEI or serial for the codes left. q
// carries the caller's scope and, when the caller needs only some, the
// columns to read (refColumns); codes are already normalized. A code that
// names no device is absent from the answer.
func (s *Service) resolveCodes(q *gorm.DB, codes []string) (map[string]Device, error) {
	out := map[string]Device{}
	if len(codes) == 0 {
		return out, nil
	}
	// Tags first: each code, and its dashed form when it reads as a tag
	// typed without its dash (TEL00042).
	tagOf := map[string]string{} // tag → code
	var tags []string
	for _, code := range codes {
		if code == "" || len(code) > 100 {
			continue
		}
		tagOf[code], tags = code, append(tags, code)
		if m := tagWithoutDash.FindStringSubmatch(code); m != nil {
			dashed := m[1] + "-" + m[2]
			if _, taken := tagOf[dashed]; !taken {
				tagOf[dashed], tags = code, append(tags, dashed)
			}
		}
	}
	cond, arg := s.db.InList("devices.tag", tags)
	var byTag []Device
	if err := q.Session(&gorm.Session{}).Where(cond, arg).Find(&byTag).Error; err != nil {
		return nil, fmt.Errorf("devices by tag: %w", err)
	}
	for _, d := range byTag {
		if code := tagOf[d.Tag]; code != "" {
			if _, done := out[code]; !done || d.Tag == code {
				out[code] = d
			}
		}
	}
	// Then IMEIs and serials, for the codes no tag answered.
	imeiOf, serialOf := map[string][]string{}, map[string][]string{}
	var imeis, serials []string
	for _, code := range codes {
		if _, done := out[code]; done || code == "" || len(code) > 100 {
			continue
		}
		imei := NormalizeIMEI(code)
		imeiOf[imei], imeis = append(imeiOf[imei], code), append(imeis, imei)
		serialOf[code], serials = append(serialOf[code], code), append(serials, code)
	}
	if len(serials) == 0 {
		return out, nil
	}
	imeiCond, imeiArg := s.db.InList("devices.imei", imeis)
	serialCond, serialArg := s.db.InList("devices.serial", serials)
	var rest []Device
	if err := q.Session(&gorm.Session{}).Where("("+imeiCond+" OR "+serialCond+")", imeiArg, serialArg).
		Order("CASE WHEN devices.state = 'recycled' THEN 1 ELSE 0 END, devices.id DESC").Find(&rest).Error; err != nil {
		return nil, fmt.Errorf("devices by IMEI or serial: %w", err)
	}
	// The order puts the device to keep first: the first match of a code
	// wins.
	for _, d := range rest {
		var named []string
		if d.IMEI != nil {
			named = append(named, imeiOf[*d.IMEI]...)
		}
		if d.Serial != nil {
			named = append(named, serialOf[*d.Serial]...)
		}
		for _, code := range named {
			if _, done := out[code]; !done {
				out[code] = d
			}
		}
	}
	return out, nil
}
