package inventory

import (
	"slices"
	"strings"
)

// Lock check results.
const (
	LockClear         = "clear"
	LockLocked        = "locked"
	LockNotApplicable = "not_applicable"
)

// Locks are what a diagnosis checked that ties a device to someone else: the
// owner's account (iCloud Activation Lock, Google FRP, a Microsoft
// account), a company's management enrolment, a firmware password, the
// IMEI reported lost or stolen. A device with any lock locked is never made
// ready: the person who buys it could not use it.
type Locks struct {
	Account   string `json:"account"`
	MDM       string `json:"mdm"`
	Firmware  string `json:"firmware"`
	Blocklist string `json:"blocklist"`
}

// LockKinds are the locks in the order people check them, each with the
// catalogue key of its name.
var LockKinds = []struct{ Key, Label string }{
	{"account", "Owner's account (iCloud, Google, Microsoft)"},
	{"mdm", "Device management (MDM)"},
	{"firmware", "Firmware password (BIOS/EFI)"},
	{"blocklist", "IMEI reported lost or stolen"},
}

// NeedsLockCheck tells the categories whose diagnosis records lock checks.
func NeedsLockCheck(c Category) bool {
	return slices.Contains([]Category{Smartphone, Tablet, Laptop, Desktop}, c)
}

// Get is one lock's result by its key.
func (l Locks) Get(kind string) string {
	switch kind {
	case "account":
		return l.Account
	case "mdm":
		return l.MDM
	case "firmware":
		return l.Firmware
	case "blocklist":
		return l.Blocklist
	}
	return ""
}

// Set records one lock's result by its key.
func (l *Locks) Set(kind, result string) {
	switch kind {
	case "account":
		l.Account = result
	case "mdm":
		l.MDM = result
	case "firmware":
		l.Firmware = result
	case "blocklist":
		l.Blocklist = result
	}
}

// Locked lists the keys of the locks found locked.
func (l Locks) Locked() []string {
	var out []string
	for _, k := range LockKinds {
		if l.Get(k.Key) == LockLocked {
			out = append(out, k.Key)
		}
	}
	return out
}

// validLock is a result a check may have.
func validLock(r string) bool {
	return r == LockClear || r == LockLocked || r == LockNotApplicable
}

// normalized trims and lower-cases every result.
func (l Locks) normalized() Locks {
	for _, k := range LockKinds {
		l.Set(k.Key, strings.ToLower(strings.TrimSpace(l.Get(k.Key))))
	}
	return l
}

// AllClear is the result of a check that found no lock: each lock clear
// where the device can have it, not applicable where it cannot (no
// firmware password on a phone, no IMEI on a computer without one).
func AllClear(d Device) Locks {
	l := Locks{Account: LockClear, MDM: LockClear, Firmware: LockClear, Blocklist: LockClear}
	if d.Category == Smartphone || d.Category == Tablet {
		l.Firmware = LockNotApplicable
	}
	if d.IMEI == nil || *d.IMEI == "" {
		l.Blocklist = LockNotApplicable
	}
	return l
}

// lockList names locks in a message: in English (the API's detail), and
// each by its catalogue key for a page (see web.Say).
type lockList []string

var lockEnglish = map[string]string{"account": "owner's account", "mdm": "device management", "firmware": "firmware password",
	"blocklist": "IMEI reported lost or stolen"}

func (l lockList) String() string {
	names := make([]string, len(l))
	for i, k := range l {
		names[i] = lockEnglish[k]
	}
	return strings.Join(names, ", ")
}

// Keys are the catalogue keys of the locks' names.
func (l lockList) Keys() []string {
	keys := make([]string, len(l))
	for i, k := range l {
		keys[i] = "lock." + k
	}
	return keys
}
