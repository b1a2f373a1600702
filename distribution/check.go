package distribution

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/inventory"
)

// Check verifies sales invariants: every sold device has exactly one live
// sale line and every live device line's device is sold; every sold card one
// sale line and every card line's card is sold; each voucher's used
// entitlements equal its sales minus refunds.
func (s *Service) Check(ctx context.Context) ([]inventory.Breach, error) {
	db := s.db.WithContext(ctx)
	var out []inventory.Breach
	var devices []struct {
		Tag   string
		State string
		Lines int64
	}
	if err := db.Raw(`SELECT d.tag, d.state, COUNT(l.id) AS lines FROM devices d
		LEFT JOIN sale_lines l ON l.device_id = d.id AND l.refund_id IS NULL
		GROUP BY d.id, d.tag, d.state
		HAVING (d.state = 'sold' AND COUNT(l.id) <> 1) OR (d.state <> 'sold' AND COUNT(l.id) > 0)`).Scan(&devices).Error; err != nil {
		return nil, fmt.Errorf("check sold devices: %w", err)
	}
	for _, d := range devices {
		out = append(out, inventory.Breach{Rule: "device-sale-line", Detail: fmt.Sprintf("device %s is %s with %d live sale line(s)", d.Tag, d.State, d.Lines)})
	}
	var cards []struct {
		Serial string
		Status string
		Lines  int64
	}
	if err := db.Raw(`SELECT u.serial, u.status, COUNT(l.id) AS lines FROM recharge_units u
		LEFT JOIN sale_lines l ON l.recharge_unit_id = u.id
		GROUP BY u.id, u.serial, u.status
		HAVING (u.status = 'sold' AND COUNT(l.id) <> 1) OR (u.status <> 'sold' AND COUNT(l.id) > 0)`).Scan(&cards).Error; err != nil {
		return nil, fmt.Errorf("check sold cards: %w", err)
	}
	for _, c := range cards {
		out = append(out, inventory.Breach{Rule: "card-sale-line", Detail: fmt.Sprintf("card %s is %s with %d sale line(s)", c.Serial, c.Status, c.Lines)})
	}
	var vouchers []struct {
		Code          string
		DevicesUsed   int64
		RechargesUsed int64
		Devices       int64
		Recharges     int64
	}
	if err := db.Raw(`SELECT v.code, v.devices_used, v.recharges_used,
			COALESCE(SUM(CASE WHEN l.kind = 'device' AND l.refund_id IS NULL THEN 1 ELSE 0 END), 0) AS devices,
			COALESCE(SUM(CASE WHEN l.kind = 'recharge' THEN 1 ELSE 0 END), 0) AS recharges
		FROM vouchers v LEFT JOIN sales s ON s.voucher_id = v.id LEFT JOIN sale_lines l ON l.sale_id = s.id
		GROUP BY v.id, v.code, v.devices_used, v.recharges_used
		HAVING v.devices_used <> COALESCE(SUM(CASE WHEN l.kind = 'device' AND l.refund_id IS NULL THEN 1 ELSE 0 END), 0)
			OR v.recharges_used <> COALESCE(SUM(CASE WHEN l.kind = 'recharge' THEN 1 ELSE 0 END), 0)`).Scan(&vouchers).Error; err != nil {
		return nil, fmt.Errorf("check vouchers: %w", err)
	}
	for _, v := range vouchers {
		out = append(out, inventory.Breach{Rule: "voucher-entitlements", Detail: fmt.Sprintf("voucher %s records %d device(s) and %d recharge(s) used; its sales say %d and %d",
			FormatCode(v.Code), v.DevicesUsed, v.RechargesUsed, v.Devices, v.Recharges)})
	}
	more, err := s.checkJournal(db)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}
