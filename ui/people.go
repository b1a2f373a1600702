package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tremplin/tremplin/distribution"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// issueView is the prescriber's one page: find the person (or record
// them), say what the voucher allows, create it.
type issueView struct {
	web.Page
	// CanNotify says the server can send the person their code.
	CanNotify   bool
	Categories  []string
	Form        url.Values
	Errors      []string
	FieldErrors map[string]string
	// Q is the name typed; Found the people who match it (or the most
	// recent ones when nothing is typed yet).
	Q     string
	Found []distribution.PersonSummary
	More  bool // Found was cut at its limit
	// Person is the person chosen; Similar, the people already recorded
	// under the name of a new person, to pick one rather than record a
	// duplicate.
	Person  *distribution.PersonSummary
	Similar []distribution.PersonSummary
	// Limit is the network's yearly number of devices per person (0: none).
	Limit int
}

// AtLimit tells whether a person already received the yearly number of
// devices: a voucher for a device would be refused at the counter.
func (v *issueView) AtLimit(p distribution.PersonSummary) bool {
	return v.Limit > 0 && p.DevicesThisYear >= v.Limit
}

func (p *Distribution) issueView() *issueView {
	return &issueView{Categories: categoryChoices, Limit: p.Service.YearlyLimit(), CanNotify: p.Service.CanNotify()}
}

// form is the voucher page: ?personne=ID for a person already chosen,
// ?q= for the people who match a name.
func (p *Distribution) form(c *gin.Context, caller partners.Caller) error {
	v := p.issueView()
	def, err := p.Service.VoucherDefaults(c.Request.Context(), caller)
	if err != nil {
		return err
	}
	v.Form = voucherForm(def)
	if err := p.findOrChoose(c, caller, v, c.Query("personne"), c.Query("q")); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "voucher_new", v)
	return nil
}

// findOrChoose fills the person chosen, or the people matching q.
func (p *Distribution) findOrChoose(c *gin.Context, caller partners.Caller, v *issueView, chosen, q string) error {
	ctx := c.Request.Context()
	if chosen = strings.TrimSpace(chosen); chosen != "" {
		id, err := strconv.ParseInt(chosen, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("person %q: %w", chosen, apperr.ErrNotFound)
		}
		person, err := p.Service.Person(ctx, caller, id)
		if err != nil {
			return err
		}
		if person.AnonymisedAt != nil {
			return fmt.Errorf("person %d was anonymised: %w", id, apperr.ErrNotFound)
		}
		v.Person = &person
		v.Form.Set("beneficiary_id", chosen)
		return nil
	}
	if err := distribution.CheckSearch(q); err != nil {
		return err
	}
	v.Q = strings.TrimSpace(q)
	found, err := p.Service.FindPeople(ctx, caller, v.Q, 10)
	v.Found, v.More = found, len(found) == 10
	if v.Q != "" && v.Form.Get("first_name") == "" && v.Form.Get("last_name") == "" {
		// The name typed starts the new person's record: "Jean Dupont"
		// or, one word, the last name.
		words := strings.Fields(v.Q)
		if len(words) == 1 {
			v.Form.Set("last_name", words[0])
		} else {
			v.Form.Set("first_name", words[0])
			v.Form.Set("last_name", strings.Join(words[1:], " "))
		}
	}
	return err
}

// voucherForm writes a voucher's settings as the form's values.
func voucherForm(n distribution.NewVoucher) url.Values {
	return url.Values{"device_categories": n.DeviceCategories, "devices": {strconv.Itoa(n.Devices)},
		"recharges": {strconv.Itoa(n.Recharges)}, "valid_days": {strconv.Itoa(n.ValidDays)}}
}

func formInt(v url.Values, name string, errs *apperr.ValidationError) int {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		errs.Field(name, "a whole number is expected")
	}
	return n
}

// create issues the voucher: to the person chosen, or to a new person
// recorded in the same transaction. A new person whose name is already
// known is asked about first, so that one person is not recorded twice.
func (p *Distribution) create(c *gin.Context, caller partners.Caller) error {
	v := p.issueView()
	if err := c.Request.ParseForm(); err != nil {
		return fmt.Errorf("form: %w", apperr.ErrMalformed)
	}
	ctx := c.Request.Context()
	f := c.Request.PostForm
	v.Form = f
	// Every bad field at once, each next to its field: the numbers typed,
	// then the service's checks.
	bad := &apperr.ValidationError{}
	nv := distribution.NewVoucher{DeviceCategories: f["device_categories"], Devices: formInt(f, "devices", bad),
		Recharges: formInt(f, "recharges", bad), ValidDays: formInt(f, "valid_days", bad), Notify: f.Get("notify") != ""}
	if chosen := f.Get("beneficiary_id"); chosen != "" {
		if err := p.findOrChoose(c, caller, v, chosen, ""); err != nil {
			return err
		}
		nv.BeneficiaryID = v.Person.ID
		merge(bad, distribution.CheckVoucherInput(nv))
		if len(bad.Errors) > 0 {
			return p.formError(c, v, bad)
		}
		return p.issued(c, v, func() (distribution.VoucherView, error) { return p.Service.IssueVoucher(ctx, caller, nv) })
	}
	nb := distribution.NewBeneficiary{FirstName: f.Get("first_name"), LastName: f.Get("last_name")}
	if y := formInt(f, "birth_year", bad); y != 0 {
		nb.BirthYear = &y
	}
	if pc := strings.TrimSpace(f.Get("postal_code")); pc != "" {
		nb.PostalCode = &pc
	}
	if ph := strings.TrimSpace(f.Get("phone")); ph != "" {
		nb.Phone = &ph
	}
	if em := strings.TrimSpace(f.Get("email")); em != "" {
		nb.Email = &em
	}
	nb.ContactConsent = f.Get("contact_consent") != ""
	err := p.Service.CheckNewPerson(ctx, caller, nb, nv)
	if !merge(bad, err) && err != nil {
		return err
	}
	if len(bad.Errors) > 0 {
		return p.formError(c, v, bad)
	}
	if f.Get("confirm_new") != "1" {
		similar, err := p.Service.FindPeople(ctx, caller, nb.FirstName+" "+nb.LastName, 10)
		if err != nil {
			return err
		}
		if len(similar) > 0 {
			v.Similar = similar
			p.Site.Render(c, http.StatusOK, "voucher_new", v)
			return nil
		}
	}
	return p.issued(c, v, func() (distribution.VoucherView, error) { return p.Service.IssueToNewPerson(ctx, caller, nb, nv) })
}

// merge adds a validation error's problems to bad, a field said once (a
// number that did not parse is not also "out of range"); false when err
// is another kind of error.
func merge(bad *apperr.ValidationError, err error) bool {
	var checked *apperr.ValidationError
	if !errors.As(err, &checked) {
		return false
	}
	for _, e := range checked.Errors {
		if !slices.ContainsFunc(bad.Errors, func(x apperr.FieldError) bool { return x.Field == e.Field }) {
			bad.Errors = append(bad.Errors, e)
		}
	}
	return true
}

// issued acts once per drawn form and leads to the voucher's page.
func (p *Distribution) issued(c *gin.Context, v *issueView, issue func() (distribution.VoucherView, error)) error {
	err := once(p.Site, c, "The voucher is created. Print it or send it to the person.", func() (string, error) {
		vo, err := issue()
		return "/bons/" + vo.Code, err
	})
	if err != nil {
		return p.formError(c, v, err)
	}
	return nil
}

func (p *Distribution) formError(c *gin.Context, v *issueView, err error) error {
	fields, all, ok := web.Refusal(p.Site.Lang(c), err)
	if !ok {
		return err
	}
	v.FieldErrors, v.Errors = fields, all
	p.Site.Render(c, http.StatusUnprocessableEntity, "voucher_new", v)
	return nil
}

// peopleView lists the organisation's people, or one person.
type peopleView struct {
	web.Page
	Q        string
	People   []distribution.PersonSummary
	More     bool
	Person   *distribution.PersonSummary
	Vouchers []distribution.VoucherView
	Limit    int
	CanIssue bool
	// ForgetOn is when the person's names will be erased if nothing
	// happens before; nil when no period is set.
	ForgetOn *time.Time
	Forget   string // the period, as the configuration says it ("24mo")
	// Messages are what was sent to the person, newest first.
	Messages []notify.Notification
}

// people lists the organisation's people, the most recently active first,
// found by name.
func (p *Distribution) people(c *gin.Context, caller partners.Caller) error {
	v := &peopleView{Q: strings.TrimSpace(c.Query("q")), Limit: p.Service.YearlyLimit()}
	if err := distribution.CheckSearch(v.Q); err != nil {
		return err
	}
	var err error
	if v.People, err = p.Service.FindPeople(c.Request.Context(), caller, v.Q, distribution.MaxFound); err != nil {
		return err
	}
	v.More, v.CanIssue = len(v.People) == distribution.MaxFound, caller.Is(distribution.IssuerRoles...)
	p.Site.Render(c, http.StatusOK, "people", v)
	return nil
}

// person is one person's page: who, what they received, their vouchers,
// the export of their data and when their names will be erased.
func (p *Distribution) person(c *gin.Context, caller partners.Caller, id int64) error {
	ctx := c.Request.Context()
	v := &peopleView{Limit: p.Service.YearlyLimit(), CanIssue: caller.Is(distribution.IssuerRoles...), Forget: p.AnonymiseAfter}
	person, err := p.Service.Person(ctx, caller, id)
	if err != nil {
		return err
	}
	v.Person = &person
	if v.Vouchers, err = p.Service.PersonVouchers(ctx, caller, id); err != nil {
		return err
	}
	if v.Messages, err = p.Service.Notifications(ctx, caller, id); err != nil {
		return err
	}
	if y, m, d, perr := distribution.ParseAge(p.AnonymiseAfter); perr == nil && p.AnonymiseAfter != "" {
		on := v.Person.LastActivityAt.AddDate(y, m, d)
		v.ForgetOn = &on
	}
	p.Site.Render(c, http.StatusOK, "person", v)
	return nil
}

// export downloads everything held about a person (the right of access),
// as the API's export; it is audited.
func (p *Distribution) export(c *gin.Context, caller partners.Caller, id int64) error {
	out, err := p.Service.ExportBeneficiary(c.Request.Context(), caller, id)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	httpx.SendFile(c, fmt.Sprintf("tremplin-personne-%d.json", id), "application/json; charset=utf-8", b, false)
	return nil
}
