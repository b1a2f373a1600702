package ui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// deviceView is a device with what can be done to it, as the scan station
// and the device's page show it.
type deviceView struct {
	formView
	Device  *inventory.Device
	Site    string
	Donor   string
	Events  []inventory.Event
	Actions []string
	Grades  []string
	// EraseMethod is the method of the person's last erasure; GridPrice the
	// grid's price for the device's grade, as euros for the form.
	EraseMethod string
	GridPrice   string
	// Open is the action whose panel is open (after a refused form, or
	// the recycle command that asks for a reason).
	Open string
	// Back is the page an action returns to.
	Back string
	// LockFields are the diagnosis panel's lock checks, each with the
	// choice already made (the last check, or not applicable where the
	// device cannot have the lock).
	LockFields []lockField
	// Locked names the locks found, in the reader's language; Quote what
	// the donor needs to find the device.
	Locked string
	Quote  string
	// Reports are the device's erasure reports, newest first.
	Reports []inventory.ErasureReport
}

// lockField is one lock check of the diagnosis panel.
type lockField struct {
	Key, Label, Value string
}

type stationView struct {
	web.Page
	deviceView
	Code     string
	Voucher  bool
	Unknown  bool
	Commands []inventory.Command
	// Register offers to record an unknown IMEI or serial.
	RegisterIMEI   string
	RegisterSerial string
	// Misread is a code that is neither known nor a plausible serial; Note
	// a transfer's delivery note (scanned at a reception, not here).
	Misread    bool
	Note       bool
	Donations  []inventory.Donation
	Categories []string
	PrintCount int
	// Recycling, asked by scans: Recycle is "reason" (scan a reason card,
	// or type one) or "confirm" (scan RECYC again); Reason the reason
	// chosen; ReasonError a typed reason refused.
	Recycle     string
	Reason      string
	ReasonError string
	ReasonCards []inventory.Command
	// Diagnosis is the grade scanned for a device that also needs its lock
	// checks: the station asks for a lock card, and records both at once.
	Diagnosis string
	LockCards []inventory.Command
}

// The steps of recycling at the station, in its address.
const (
	recycleAsk     = "motif"
	recycleConfirm = "confirmer"
)

// load fills the device part of a view: facts, last events, actions.
func (p *Inventory) load(c *gin.Context, caller partners.Caller, v *deviceView, d inventory.Device, events int) error {
	ctx := c.Request.Context()
	v.Device, v.Grades = &d, inventory.Grades
	v.Actions = inventory.AllowedActions(caller, d)
	l := p.lang(c)
	if d.Locks != nil {
		if locked := d.Locks.Locked(); len(locked) > 0 {
			v.Locked, v.Quote = lockNames(l, locked), inventory.QuoteSerial(d)
		}
	}
	if slices.Contains(v.Actions, "diagnose") && inventory.NeedsLockCheck(d.Category) {
		na := inventory.AllClear(d)
		for _, k := range inventory.LockKinds {
			f := lockField{Key: k.Key, Label: k.Label}
			switch {
			case d.Locks != nil:
				f.Value = d.Locks.Get(k.Key)
			case na.Get(k.Key) == inventory.LockNotApplicable:
				f.Value = inventory.LockNotApplicable
			}
			v.LockFields = append(v.LockFields, f)
		}
	}
	if site, err := p.Partners.Site(ctx, d.SiteID); err == nil {
		v.Site = site.Name
	}
	ev, err := p.Service.Events(ctx, caller, d.ID)
	if err != nil {
		return err
	}
	slices.Reverse(ev)
	if events > 0 && len(ev) > events {
		ev = ev[:events]
	}
	v.Events = ev
	if v.Reports, err = p.Service.ErasureReports(ctx, caller, d.ID); err != nil {
		return err
	}
	if slices.Contains(v.Actions, "erase") {
		if v.EraseMethod, err = p.Service.LastErasureMethod(ctx, caller); err != nil {
			return err
		}
	}
	if slices.Contains(v.Actions, "mark_ready") && d.Grade != nil {
		price, found, err := p.Service.GridPrice(ctx, d.Category, *d.Grade)
		if err != nil {
			return err
		}
		if found {
			v.GridPrice = euros(p.lang(c), price)
		}
	}
	if v.Form == nil {
		v.Form = url.Values{}
	}
	return nil
}

// station is the warehouse's home: one scan field; what was scanned below.
func (p *Inventory) station(c *gin.Context, caller partners.Caller) error {
	v := &stationView{Code: strings.TrimSpace(c.Query("code")), Commands: inventory.Commands, PrintCount: len(readPrintList(c))}
	v.Open = c.Query("ouvrir")
	v.Back = "/poste"
	status, err := p.resolve(c, caller, v)
	if err != nil {
		return err
	}
	if v.Device != nil && slices.Contains(v.Actions, "recycle") {
		p.recycleStep(c, v)
	}
	if g := strings.ToUpper(c.Query("diagnostic")); v.Device != nil && v.Recycle == "" && inventory.ValidGrade(g) &&
		slices.Contains(v.Actions, "diagnose") && inventory.NeedsLockCheck(v.Device.Category) {
		v.Diagnosis, v.LockCards, v.Open = g, inventory.LockCards(), ""
	}
	p.Site.Render(c, status, "station", v)
	return nil
}

// recycleStep reads the recycling step from the address: a reason typed in
// words goes on to the confirmation; a code (a scan that went into the
// reason's field) is refused, and the station asks again.
func (p *Inventory) recycleStep(c *gin.Context, v *stationView) {
	l := p.lang(c)
	reason := strings.TrimSpace(c.Query("motif"))
	switch c.Query("recyclage") {
	case recycleAsk:
		v.Recycle = recycleAsk
	case recycleConfirm:
		v.Recycle, v.Reason = recycleConfirm, reason
		if reason == "" || inventory.LooksScanned(reason) {
			v.Recycle, v.Reason = recycleAsk, ""
			v.ReasonError = l.T("“%s” looks like a scanned code, not a reason: scan a reason card, or type the reason in words.", reason)
			if reason == "" {
				v.ReasonError = l.T("Scan a reason card, or type the reason in words.")
			}
		}
	}
	if v.Recycle != "" {
		v.ReasonCards = inventory.ReasonCards()
		v.Open = ""
	}
}

// recycleAddress is the station showing a device at a recycling step.
func recycleAddress(tag, step, reason string) string {
	q := url.Values{"code": {tag}, "recyclage": {step}}
	if reason != "" {
		q.Set("motif", reason)
	}
	return "/poste?" + q.Encode()
}

// resolve says what the station's code is: a device, a voucher, or unknown
// (then offering to register it).
func (p *Inventory) resolve(c *gin.Context, caller partners.Caller, v *stationView) (int, error) {
	if v.Code == "" {
		return http.StatusOK, nil
	}
	ctx := c.Request.Context()
	d, err := p.Service.FindByCode(ctx, caller, v.Code)
	if err == nil {
		v.Back = "/poste?code=" + url.QueryEscape(d.Tag)
		return http.StatusOK, p.load(c, caller, &v.deviceView, d, 5)
	}
	if !errors.Is(err, apperr.ErrNotFound) {
		return 0, err
	}
	// A voucher's code is told by its shape and check symbol: the station
	// says what was scanned without looking the voucher up.
	if _, err := distribution.NormalizeCode(v.Code); err == nil {
		v.Voucher = true
		return http.StatusOK, nil
	}
	if noteCode.MatchString(inventory.NormalizeCode(v.Code)) {
		v.Note = true
		return http.StatusOK, nil
	}
	v.Unknown = true
	if imei := inventory.NormalizeIMEI(v.Code); inventory.ValidIMEI(imei) {
		v.RegisterIMEI = imei
	} else if inventory.PlausibleSerial(v.Code) {
		v.RegisterSerial = inventory.NormalizeSerial(v.Code)
	} else {
		// A misread scan is no serial number: nothing to register.
		v.Misread = true
		return http.StatusNotFound, nil
	}
	if err := p.recentDonations(c, caller, &v.Donations); err != nil {
		return 0, err
	}
	v.Categories = categoryNames()
	if v.Form == nil {
		v.Form = url.Values{}
	}
	return http.StatusNotFound, nil
}

// recentDonations are the last donations received at the caller's
// warehouse, newest first.
func (p *Inventory) recentDonations(c *gin.Context, caller partners.Caller, out *[]inventory.Donation) error {
	l, err := p.Service.ListDonations(c.Request.Context(), caller, 0, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	items := l.Items
	slices.Reverse(items)
	if len(items) > 20 {
		items = items[:20]
	}
	*out = items
	return nil
}

// scan takes what the scan field sent: a command acts on the device shown;
// anything else is looked up.
func (p *Inventory) scan(c *gin.Context, caller partners.Caller) error {
	code := strings.TrimSpace(c.PostForm("code"))
	current := strings.TrimSpace(c.PostForm("current"))
	cmd, isCmd := inventory.CommandFor(code)
	l := p.lang(c)
	if !isCmd || code == "" {
		c.Redirect(http.StatusSeeOther, "/poste?code="+url.QueryEscape(code))
		return nil
	}
	if current == "" {
		web.Flash(c, l.T("Scan a device first, then the command."), true)
		c.Redirect(http.StatusSeeOther, "/poste")
		return nil
	}
	d, err := p.Service.FindByCode(c.Request.Context(), caller, current)
	if err != nil {
		return err
	}
	back := "/poste?code=" + url.QueryEscape(d.Tag)
	// Recycling is asked by scans, never by a text field a scanner could
	// type into: RECYC, a reason card, then RECYC again to confirm.
	step, reason := c.PostForm("recyclage"), strings.TrimSpace(c.PostForm("motif"))
	switch {
	case cmd.Reason != "":
		if step == "" {
			web.Flash(c, l.T("%s: scan RECYC first, then the reason card.", d.Tag), true)
			c.Redirect(http.StatusSeeOther, back)
			return nil
		}
		c.Redirect(http.StatusSeeOther, recycleAddress(d.Tag, recycleConfirm, l.T(cmd.Reason)))
		return nil
	case cmd.Code == "CMD-RECYCLE" && step == recycleConfirm && reason != "" && !inventory.LooksScanned(reason):
		return p.apply(c, caller, d, inventory.Transition{Action: "recycle", Reason: &reason}, back)
	case cmd.Code == "CMD-RECYCLE":
		c.Redirect(http.StatusSeeOther, recycleAddress(d.Tag, recycleAsk, ""))
		return nil
	case cmd.Action == "diagnose" && inventory.NeedsLockCheck(d.Category):
		// The grade waits for the lock checks: a lock card records both.
		c.Redirect(http.StatusSeeOther, back+"&diagnostic="+url.QueryEscape(cmd.Grade))
		return nil
	case cmd.Lock != "":
		t, ok := lockCheck(d, cmd, strings.ToUpper(c.PostForm("diagnostic")))
		if !ok {
			web.Flash(c, l.T("%s: scan its grade first (A to D), then the lock card.", d.Tag), true)
			c.Redirect(http.StatusSeeOther, back)
			return nil
		}
		return p.apply(c, caller, d, t, back)
	case cmd.Code == "CMD-LABEL":
		n := addToPrintList(c, d.ID)
		web.Flash(c, l.T("%s: added to the print list (%d).", d.Tag, n), false)
		c.Redirect(http.StatusSeeOther, back)
		return nil
	}
	t := inventory.Transition{Action: cmd.Action}
	if cmd.Grade != "" {
		t.Grade = &cmd.Grade
	}
	if cmd.Action == "erase" {
		method, err := p.Service.LastErasureMethod(c.Request.Context(), caller)
		if err != nil {
			return err
		}
		if method == "" {
			web.Flash(c, l.T("Choose the erasure method once with the Erase button; the cards then reuse it."), true)
			c.Redirect(http.StatusSeeOther, openPanel(back, "erase"))
			return nil
		}
		t.Method, t.Result = &method, &cmd.Result
	}
	return p.apply(c, caller, d, t, back)
}

// lockCheck is the diagnosis a lock card records: the grade just scanned
// (or, for a device already diagnosed and found locked, its grade: a new
// check), and the locks, all clear for « Aucun verrou », else the card's
// lock added to those found so far. ok is false without a grade.
func lockCheck(d inventory.Device, cmd inventory.Command, pending string) (inventory.Transition, bool) {
	grade := pending
	recheck := d.State == inventory.Diagnosed && d.Grade != nil
	if !inventory.ValidGrade(grade) {
		if !recheck {
			return inventory.Transition{}, false
		}
		grade = *d.Grade
	}
	locks := inventory.AllClear(d)
	if cmd.Lock != "none" {
		if pending == "" && recheck && d.Locks != nil {
			locks = *d.Locks
		}
		locks.Set(cmd.Lock, inventory.LockLocked)
	}
	return inventory.Transition{Action: "diagnose", Grade: &grade, Locks: &locks}, true
}

// apply takes a transition and goes back with what happened said in the
// status area; a refusal is said there too, in the reader's language.
func (p *Inventory) apply(c *gin.Context, caller partners.Caller, d inventory.Device, t inventory.Transition, back string) error {
	l := p.lang(c)
	to, repeated, err := p.Site.Once(c, func() (string, error) {
		after, err := p.Service.Apply(c.Request.Context(), caller, d.ID, t)
		if err != nil {
			return "", err
		}
		web.Flash(c, actionDone(l, after, t), false)
		return back, nil
	})
	if err != nil {
		if errors.Is(err, apperr.ErrConflict) || errors.Is(err, apperr.ErrInvalid) {
			why := web.Say(l, err)
			if ce, ok := errors.AsType[*apperr.ConflictError](err); ok && ce.Code == "invalid-transition" && len(ce.Args) == 3 {
				why = l.T("it is “%s”, and “%s” is not possible from that state.", l.T("state."+string(d.State)), l.T("do."+t.Action))
			}
			web.Flash(c, l.T("%s: not done.", d.Tag)+" "+i18n.Sentence(why), true)
			to := back
			if errors.Is(err, apperr.ErrInvalid) {
				to = openPanel(back, t.Action)
			}
			c.Redirect(http.StatusSeeOther, to)
			return nil
		}

		return err
	}
	if repeated {
		p.Site.Done(c, to, true, "")
		return nil
	}
	c.Redirect(http.StatusSeeOther, to)
	return nil
}

// actionDone is the status line after an action: "TEL-00042: erasure
// passed".
func actionDone(l i18n.Lang, d inventory.Device, t inventory.Transition) string {
	switch t.Action {
	case "diagnose":
		if d.Locks != nil {
			if locked := d.Locks.Locked(); len(locked) > 0 {
				return l.T("%s: diagnosed, grade %s, locked (%s): it cannot be sold until its donor releases it.", d.Tag, inventory.OrEmpty(t.Grade), lockNames(l, locked))
			}
			if t.Locks != nil {
				return l.T("%s: diagnosed, grade %s, no lock.", d.Tag, inventory.OrEmpty(t.Grade))
			}
		}
		return l.T("%s: diagnosed, grade %s.", d.Tag, inventory.OrEmpty(t.Grade))
	case "erase":
		if inventory.OrEmpty(t.Result) == "failed" {
			return l.T("%s: erasure failed (recorded; the device stays diagnosed).", d.Tag)
		}
		return l.T("%s: erasure passed.", d.Tag)
	case "send_to_repair":
		return l.T("%s: sent to repair.", d.Tag)
	case "mark_ready":
		price := int64(0)
		if d.PriceCents != nil {
			price = *d.PriceCents
		}
		return l.T("%s: ready, at %s.", d.Tag, l.Money(price))
	case "recycle":
		return l.T("%s: recycled.", d.Tag)
	case "mark_lost":
		return l.T("%s: marked lost.", d.Tag)
	}
	return d.Tag
}

// act takes an action from a device's panel (station or device page).
func (p *Inventory) act(c *gin.Context, caller partners.Caller) error {
	d, err := p.Service.FindByCode(c.Request.Context(), caller, c.Param("tag"))
	if err != nil {
		return err
	}
	back := c.PostForm("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/appareils/" + url.PathEscape(d.Tag)
	}
	t := inventory.Transition{Action: c.PostForm("action")}
	for name, dst := range map[string]**string{"grade": &t.Grade, "notes": &t.Notes, "method": &t.Method,
		"result": &t.Result, "reason": &t.Reason, "recycler": &t.Recycler} {
		if v, ok := c.GetPostForm(name); ok {
			*dst = &v
		}
	}
	// Lock checks come as four choices; none sent, none recorded (the
	// service says they are required where they are).
	for _, k := range inventory.LockKinds {
		if v, ok := c.GetPostForm("lock_" + k.Key); ok {
			if t.Locks == nil {
				t.Locks = &inventory.Locks{}
			}
			t.Locks.Set(k.Key, v)
		}
	}
	// A reason or an erasure method is words: a scan that went into its
	// field (the next device's tag, the next command) is refused, never
	// recorded.
	l := p.lang(c)
	for _, f := range []struct {
		val *string
		why string
	}{
		{t.Reason, "“%s” looks like a scanned code, not a reason: scan a reason card, or type the reason in words."},
		{t.Method, "“%s” looks like a scanned code, not an erasure method: type the name of the tool you used."},
	} {
		if f.val != nil && inventory.LooksScanned(*f.val) {
			web.Flash(c, l.T("%s: not done.", d.Tag)+" "+i18n.Sentence(l.T(f.why, *f.val)), true)
			c.Redirect(http.StatusSeeOther, openPanel(back, t.Action))
			return nil
		}
	}
	if raw := strings.TrimSpace(c.PostForm("price")); raw != "" {
		cents, ok := money.Parse(raw)
		if !ok {
			l := p.lang(c)
			web.Flash(c, l.T("%s: not done.", d.Tag)+" "+l.T("Price: type an amount in euros, such as 35 or 35,50."), true)
			c.Redirect(http.StatusSeeOther, openPanel(back, "mark_ready"))
			return nil
		}
		t.PriceCents = &cents
	}
	return p.apply(c, caller, d, t, back)
}

// openPanel is a page's address with an action's panel open and in view.
func openPanel(back, action string) string {
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	return back + sep + "ouvrir=" + url.QueryEscape(action)
}

func (p *Inventory) commandSheet(c *gin.Context, _ partners.Caller) error {
	b, err := inventory.CommandSheet(p.lang(c))
	return p.pdf(c, "cartes-de-commande.pdf", b, err)
}

// lockNames says which locks were found, in the reader's language.
func lockNames(l i18n.Lang, keys []string) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = l.T("lock." + k)
	}
	return strings.Join(names, ", ")
}
