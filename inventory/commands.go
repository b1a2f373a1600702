package inventory

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
)

// Command is a bench command: scanned from the printed card (Code) or
// typed (Short) at the scan station right after a device, it acts on that
// device, so that a bench needs no mouse.
type Command struct {
	Code  string
	Short string
	// Label is a catalogue key.
	Label string
	// Action is the lifecycle action it takes, with its grade or result;
	// "" for the commands that are not transitions (label, recycle asks
	// for a reason first).
	Action string
	Grade  string
	Result string
	// Reason is a recycling reason card's reason (a catalogue key): scanned
	// after RECYC, it answers « why? » without the keyboard.
	Reason string
	// Lock is a lock check card's lock ("account", "mdm", "firmware",
	// "blocklist"), or "none" for « Aucun verrou »: scanned after a grade,
	// it records the diagnosis with its checks.
	Lock string
}

// Commands are the bench's commands, in the order of the printed card.
var Commands = []Command{
	{Code: "CMD-DIAG-A", Short: "A", Label: "Diagnosed, grade A", Action: "diagnose", Grade: "A"},
	{Code: "CMD-DIAG-B", Short: "B", Label: "Diagnosed, grade B", Action: "diagnose", Grade: "B"},
	{Code: "CMD-DIAG-C", Short: "C", Label: "Diagnosed, grade C", Action: "diagnose", Grade: "C"},
	{Code: "CMD-DIAG-D", Short: "D", Label: "Diagnosed, grade D", Action: "diagnose", Grade: "D"},
	{Code: "CMD-LOCK-NONE", Short: "LIBRE", Label: "No lock (all clear)", Lock: "none"},
	{Code: "CMD-LOCK-ACCOUNT", Short: "V-COMPTE", Label: "Locked: owner's account", Lock: "account"},
	{Code: "CMD-LOCK-MDM", Short: "V-MDM", Label: "Locked: device management", Lock: "mdm"},
	{Code: "CMD-LOCK-FIRMWARE", Short: "V-BIOS", Label: "Locked: firmware password", Lock: "firmware"},
	{Code: "CMD-LOCK-BLOCKLIST", Short: "V-VOLE", Label: "Locked: IMEI reported stolen", Lock: "blocklist"},
	{Code: "CMD-ERASE-OK", Short: "OK", Label: "Erasure passed", Action: "erase", Result: "passed"},
	{Code: "CMD-ERASE-KO", Short: "KO", Label: "Erasure failed", Action: "erase", Result: "failed"},
	{Code: "CMD-REPAIR", Short: "REP", Label: "Send to repair", Action: "send_to_repair"},
	{Code: "CMD-READY", Short: "PRET", Label: "Ready (grid price)", Action: "mark_ready"},
	{Code: "CMD-LABEL", Short: "ETIQ", Label: "Add to the print list"},
	{Code: "CMD-RECYCLE", Short: "RECYC", Label: "Recycle (a reason, then RECYC again)"},
	{Code: "CMD-WHY-BROKEN", Short: "IRREP", Label: "Reason: beyond repair", Reason: "beyond repair"},
	{Code: "CMD-WHY-PARTS", Short: "PIECES", Label: "Reason: for parts", Reason: "kept for parts"},
	{Code: "CMD-WHY-LOCKED", Short: "VERROU", Label: "Reason: locked", Reason: "locked to its owner"},
	{Code: "CMD-WHY-OLD", Short: "OBSO", Label: "Reason: obsolete", Reason: "obsolete"},
}

// ReasonCards are the commands that answer why a device is recycled.
func ReasonCards() []Command { return commandsWhere(func(c Command) bool { return c.Reason != "" }) }

// LockCards are the cards that answer a diagnosis's lock checks.
func LockCards() []Command { return commandsWhere(func(c Command) bool { return c.Lock != "" }) }

func commandsWhere(keep func(Command) bool) []Command {
	var out []Command
	for _, c := range Commands {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// codeShaped matches a single word holding a digit: what a scanner types
// (a tag, an IMEI, a serial, a voucher's code), never a reason in words.
var codeShaped = regexp.MustCompile(`^[\p{L}\p{N}#_./-]*[0-9][\p{L}\p{N}#_./-]*$`)

// LooksScanned tells text that a scanner typed (a device's tag, an IMEI or
// serial, a command card, a voucher's code) from words a person typed: a
// field that takes words refuses it, so that a scan that went into the
// wrong field never becomes a device's recycling reason.
func LooksScanned(s string) bool {
	s = strings.TrimSpace(s)
	if _, ok := CommandFor(s); ok {
		return true
	}
	return len(s) >= 4 && codeShaped.MatchString(s)
}

// CommandFor finds the command a scanned or typed code stands for.
func CommandFor(code string) (Command, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	for _, c := range Commands {
		if code == c.Code || code == c.Short {
			return c, true
		}
	}
	return Command{}, false
}

// CommandSheet is the printable A4 card of every command as a Code 128
// barcode with its label, in the reader's language.
func CommandSheet(l i18n.Lang) ([]byte, error) {
	d := pdfdraw.Report(l.T("Tremplin bench commands"), l.T("Tremplin bench commands"))
	d.Heading(16, l.T("Tremplin bench commands"))
	d.Lines(10, l.T("Scan a device, then one of these codes: the command applies to that device. The short code in brackets can be typed instead."))
	y := d.GetY() + 4
	const colW, rowH = 90.0, 35.0
	_, pageH := d.GetPageSize()
	_, _, _, bottom := d.GetMargins()
	row := 0
	for i, c := range Commands {
		col := i % 2
		if col == 0 && i > 0 {
			row++
			if y+float64(row+1)*rowH > pageH-bottom {
				// The next row would cross the foot of the page: the
				// cards go on over the page.
				d.AddPage()
				y, row = d.GetY(), 0
			}
		}
		x, top := 15+float64(col)*(colW+0), y+float64(row)*rowH
		d.SetFont(pdfdraw.Regular, "B", 12)
		d.TextAt(x, top+5, fmt.Sprintf("%s  (%s)", l.T(c.Label), c.Short))
		if _, err := d.Code128(x, top+8, colW-10, 20, c.Code, 600); err != nil {
			return nil, fmt.Errorf("command %s: %w", c.Code, err)
		}
		d.SetFont(pdfdraw.Mono, "B", 9)
		d.TextAt(x, top+33, c.Code)
	}
	return d.Bytes()
}
