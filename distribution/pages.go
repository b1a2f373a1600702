package distribution

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
)

// Pages are the web UI of prescribers (issue, follow, revoke, renew,
// print) and of the counter (check a voucher).
type Pages struct {
	Service *Service
	// Site renders pages and errors; Session guards them (partners'
	// RequireSession).
	Site    *web.Site
	Session gin.HandlerFunc
}

// Routes mounts the pages.
func (p *Pages) Routes(r gin.IRouter) {
	g := r.Group("", p.Session)
	g.GET("/bons", p.list)
	g.GET("/bons/nouveau", p.form)
	g.POST("/bons", p.create)
	g.GET("/bons/:code", p.show)
	g.GET("/bons/:code/bon.pdf", p.pdf)
	g.POST("/bons/:code/revoquer", p.revoke)
	g.POST("/bons/:code/renouveler", p.renew)
	g.GET("/verifier", p.verify)
}

// Menu is what the voucher pages offer a caller, from the services' role
// lists.
func (p *Pages) Menu(c partners.Caller) []web.Link {
	var out []web.Link
	if c.Is(issuerRoles...) {
		out = append(out, web.Link{ID: "new-voucher", Label: "Nouveau bon", Href: "/bons/nouveau", Primary: true})
	}
	if c.Is(prescriberRoles...) {
		out = append(out, web.Link{ID: "vouchers", Label: "Bons émis", Href: "/bons"})
	}
	if c.Is(lookupRoles...) {
		out = append(out, web.Link{ID: "check-voucher", Label: "Vérifier un bon", Href: "/verifier"})
	}
	return out
}

var categoryChoices = []struct{ Value, Label string }{
	{"smartphone", "Smartphone"}, {"feature_phone", "Téléphone simple"}, {"laptop", "Ordinateur portable"},
	{"tablet", "Tablette"}, {"desktop", "Ordinateur fixe"}, {"other", "Accessoire"},
}

// frenchMessages says the services' validation messages of the voucher
// form in French, by their English format (FieldError.Key), with the same
// arguments. (The UI's message catalogue is to take these over.)
var frenchMessages = map[string]string{
	"is required":                              "est obligatoire.",
	"must be at most 100 characters":           "100 caractères au plus.",
	"must be between 1900 and %d":              "entre 1900 et %d.",
	"must be 5 digits, such as 93100 or 97420": "5 chiffres, par exemple 93100 ou 97420.",
	"%q is not a category (smartphone, feature_phone, laptop, tablet, desktop, other)": "%q n'est pas une catégorie connue.",
	"%q is listed twice":                                   "%q est cochée deux fois.",
	"must be between 0 and %d":                             "entre 0 et %d.",
	"must be between 1 and %d":                             "entre 1 et %d.",
	"a voucher allows at least one device or one recharge": "un bon permet au moins un appareil ou une recharge.",
	"a whole number is expected":                           "un nombre entier est attendu.",
	"say which categories the devices may be, e.g. [\"smartphone\", \"laptop\"]": "cochez les catégories d'appareils permises.",
	textcheck.Message: "contient un caractère invisible ou non valide : retapez-le.",
}

var statusLabels = map[string]string{StatusActive: "actif", StatusUsed: "utilisé", StatusExpired: "expiré", StatusRevoked: "révoqué"}

var fieldLabels = map[string]string{"first_name": "Prénom", "last_name": "Nom", "birth_year": "Année de naissance", "postal_code": "Code postal",
	"device_categories": "Catégories", "devices": "Appareils", "recharges": "Recharges", "valid_days": "Durée", "reason": "Motif", "code": "Code"}

type pageData struct {
	Caller     *partners.Caller
	Vouchers   []VoucherView
	Voucher    *VoucherView
	Categories []struct{ Value, Label string }
	Statuses   map[string]string
	Form       url.Values
	Errors     []string
	Code       string
	Message    string
	Next       string // the next page of a list, when there is one
	CanIssue   bool   // the caller may issue a voucher (issuerRoles)
	// FieldErrors says, by field name, what is wrong with it, in French.
	FieldErrors map[string]string
}

func (p *Pages) data(c *gin.Context) (pageData, partners.Caller, error) {
	caller, err := partners.CurrentCaller(c)
	return pageData{Caller: &caller, Categories: categoryChoices, Statuses: statusLabels, CanIssue: caller.Is(issuerRoles...)}, caller, err
}

func (p *Pages) list(c *gin.Context) {
	d, caller, err := p.data(c)
	var page httpx.Page
	if err == nil {
		page, err = httpx.ParsePage(c)
	}
	if err == nil {
		var l httpx.List[VoucherView]
		l, err = p.Service.ListVouchers(c.Request.Context(), caller, VoucherFilter{Status: c.Query("statut")}, page)
		d.Vouchers = l.Items
		if l.NextCursor != nil {
			// The list goes on: a link to the next page, same filter.
			q := url.Values{"cursor": {*l.NextCursor}}
			if st := c.Query("statut"); st != "" {
				q.Set("statut", st)
			}
			d.Next = "/bons?" + q.Encode()
		}
	}
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	p.Site.Render(c, http.StatusOK, "vouchers", d)
}

// issuer is the page data of a caller who may issue vouchers; false (the
// error page shown) for others.
func (p *Pages) issuer(c *gin.Context) (pageData, partners.Caller, bool) {
	d, caller, err := p.data(c)
	if err == nil {
		err = caller.Require(issuerRoles...)
	}
	if err != nil {
		p.Site.Fail(c, err)
		return d, caller, false
	}
	return d, caller, true
}

func (p *Pages) form(c *gin.Context) {
	d, _, ok := p.issuer(c)
	if !ok {
		return
	}
	d.Form = url.Values{"valid_days": {"30"}, "devices": {"1"}, "recharges": {"0"}}
	p.Site.Render(c, http.StatusOK, "voucher_new", d)
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

// create records the person and issues the voucher in one go: a busy
// prescriber fills one form.
func (p *Pages) create(c *gin.Context) {
	d, caller, ok := p.issuer(c)
	if !ok {
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		p.Site.Fail(c, fmt.Errorf("form: %w", apperr.ErrMalformed))
		return
	}
	f := c.Request.PostForm
	d.Form = f
	// Every bad field at once, each next to its field: the numbers typed,
	// then the service's checks of the person and the voucher together.
	v := &apperr.ValidationError{}
	nb := NewBeneficiary{FirstName: f.Get("first_name"), LastName: f.Get("last_name")}
	if y := formInt(f, "birth_year", v); y != 0 {
		nb.BirthYear = &y
	}
	if pc := strings.TrimSpace(f.Get("postal_code")); pc != "" {
		nb.PostalCode = &pc
	}
	nv := NewVoucher{DeviceCategories: f["device_categories"], Devices: formInt(f, "devices", v),
		Recharges: formInt(f, "recharges", v), ValidDays: formInt(f, "valid_days", v)}
	err := p.Service.CheckNewPerson(c.Request.Context(), caller, nb, nv)
	var checked *apperr.ValidationError
	if errors.As(err, &checked) {
		// A number that did not parse is said once, as such.
		for _, e := range checked.Errors {
			if !slices.ContainsFunc(v.Errors, func(x apperr.FieldError) bool { return x.Field == e.Field }) {
				v.Errors = append(v.Errors, e)
			}
		}
	} else if err != nil {
		p.Site.Fail(c, err)
		return
	}
	if len(v.Errors) > 0 {
		p.formError(c, d, v)
		return
	}
	vo, err := p.Service.IssueToNewPerson(c.Request.Context(), caller, nb, nv)
	if err != nil {
		p.formError(c, d, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/bons/"+vo.Code+"?nouveau=1")
}

func (p *Pages) formError(c *gin.Context, d pageData, err error) {
	var v *apperr.ValidationError
	if !errors.As(err, &v) {
		p.Site.Fail(c, err)
		return
	}
	d.FieldErrors = map[string]string{}
	for _, e := range v.Errors {
		label := fieldLabels[e.Field]
		if label == "" {
			label = e.Field
		}
		msg := e.Message
		if fr, ok := frenchMessages[e.Key]; ok {
			msg = fmt.Sprintf(fr, e.Args...)
		}
		if _, seen := d.FieldErrors[e.Field]; !seen {
			d.FieldErrors[e.Field] = msg
		}
		d.Errors = append(d.Errors, label+" : "+msg)
	}
	p.Site.Render(c, http.StatusUnprocessableEntity, "voucher_new", d)
}

func (p *Pages) show(c *gin.Context) {
	d, caller, err := p.data(c)
	if err == nil {
		var view VoucherView
		view, err = p.Service.GetVoucher(c.Request.Context(), caller, c.Param("code"))
		d.Voucher = &view
	}
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	if c.Query("nouveau") != "" {
		d.Message = "Le bon est créé. Imprimez-le ou envoyez-le à la personne."
	}
	p.Site.Render(c, http.StatusOK, "voucher", d)
}

func (p *Pages) pdf(c *gin.Context) {
	caller, err := partners.CurrentCaller(c)
	var b []byte
	if err == nil {
		b, err = p.Service.VoucherPDF(c.Request.Context(), caller, c.Param("code"), c.Query("format"))
	}
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	c.Header("Content-Disposition", `inline; filename="bon-tremplin.pdf"`)
	c.Data(http.StatusOK, "application/pdf", b)
}

func (p *Pages) revoke(c *gin.Context) {
	caller, err := partners.CurrentCaller(c)
	var v VoucherView
	if err == nil {
		v, err = p.Service.Revoke(c.Request.Context(), caller, c.Param("code"), c.PostForm("reason"))
	}
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/bons/"+v.Code)
}

func (p *Pages) renew(c *gin.Context) {
	caller, err := partners.CurrentCaller(c)
	var v VoucherView
	if err == nil {
		days, convErr := strconv.Atoi(c.PostForm("valid_days"))
		if convErr != nil {
			days = 0
		}
		v, err = p.Service.Renew(c.Request.Context(), caller, c.Param("code"), days)
	}
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/bons/"+v.Code+"?nouveau=1")
}

// verify is the counter's check: type or scan a code, see what it allows.
func (p *Pages) verify(c *gin.Context) {
	d, caller, err := p.data(c)
	if err != nil {
		p.Site.Fail(c, err)
		return
	}
	d.Code = strings.TrimSpace(c.Query("code"))
	status := http.StatusOK
	if d.Code != "" {
		v, err := p.Service.LookupVoucher(c.Request.Context(), caller, d.Code)
		switch {
		case err == nil:
			d.Voucher = &v
		case errors.Is(err, apperr.ErrInvalid):
			status, d.Errors = http.StatusUnprocessableEntity, []string{"Ce code contient une erreur de frappe : vérifiez chaque caractère avec la personne."}
		case errors.Is(err, apperr.ErrNotFound):
			status, d.Errors = http.StatusNotFound, []string{"Aucun bon ne porte ce code."}
		default:
			p.Site.Fail(c, err)
			return
		}
	}
	p.Site.Render(c, status, "verify", d)
}
