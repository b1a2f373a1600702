package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/api"
	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/internal/web"
)

// AdminRoutes mounts the network admin's pages for organisations and
// users, and everyone's account page, behind the session.
func (p *Partners) AdminRoutes(r gin.IRouter) {
	g := r.Group("", p.RequireSession())
	admin := g.Group("/admin", api.Allow(partners.RoleAdmin))
	admin.GET("/organisations", withCaller(p.organizations))
	admin.GET("/organisations/nouvelle", withCaller(p.newOrganization))
	admin.POST("/organisations", withCaller(p.createOrganization))
	admin.GET("/organisations/:id", withRecord(p.organization))
	admin.POST("/organisations/:id", withRecord(p.saveOrganization))
	admin.POST("/organisations/:id/active", withRecord(p.activateOrganization))
	admin.GET("/reseau", withCaller(p.network))
	admin.POST("/reseau", withCaller(p.saveNetwork))
	admin.GET("/utilisateurs", withCaller(p.users))
	admin.GET("/utilisateurs/nouveau", withCaller(p.newUser))
	admin.POST("/utilisateurs", withCaller(p.createUserPage))
	admin.GET("/utilisateurs/:id", withRecord(p.user))
	admin.POST("/utilisateurs/:id/active", withRecord(p.activateUser))
	admin.POST("/utilisateurs/:id/mot-de-passe", withRecord(p.resetPassword))
	g.GET("/compte", withCaller(p.account))
	g.POST("/compte/mot-de-passe", withCaller(p.changePassword))
	g.POST("/compte/langue", withCaller(p.accountLanguage))
	g.POST("/compte/deconnexion", withCaller(p.logoutEverywhere))
}

// Menu is what the partners' pages offer a caller.
func (p *Partners) Menu(c partners.Caller) []web.Link {
	if !c.IsAdmin() {
		return nil
	}
	return []web.Link{{ID: "organizations", Label: "Organisations", Href: "/admin/organisations"},
		{ID: "users", Label: "Users", Href: "/admin/utilisateurs"}}
}

// Zones are the time zones offered for an organisation: France's, mainland
// then overseas, each with the place people know it by.
var Zones = []struct{ Name, Place string }{
	{"Europe/Paris", "Mainland France and Corsica"},
	{"America/Guadeloupe", "Guadeloupe"},
	{"America/Martinique", "Martinique"},
	{"America/Cayenne", "French Guiana"},
	{"Indian/Reunion", "La Réunion"},
	{"Indian/Mayotte", "Mayotte"},
	{"America/Miquelon", "Saint Pierre and Miquelon"},
	{"America/St_Barthelemy", "Saint Barthélemy"},
	{"America/Marigot", "Saint Martin"},
	{"Pacific/Noumea", "New Caledonia"},
	{"Pacific/Tahiti", "French Polynesia (Tahiti)"},
	{"Pacific/Marquesas", "French Polynesia (Marquesas)"},
	{"Pacific/Wallis", "Wallis and Futuna"},
	{"Europe/Brussels", "Belgium"},
	{"Europe/Luxembourg", "Luxembourg"},
	{"Europe/Zurich", "Switzerland"},
	{"America/Montreal", "Quebec"},
}

type organizationsView struct {
	web.Page
	Kinds []partners.Kind
	Kind  partners.Kind
	Orgs  []partners.Organization
	Staff map[int64]int // active users per organisation
}

// organizations lists the network's organisations by kind.
func (p *Partners) organizations(c *gin.Context, caller partners.Caller) error {
	v := &organizationsView{Kinds: partners.Kinds, Kind: partners.Kind(c.Query("type"))}
	ctx := c.Request.Context()
	l, err := p.Service.ListOrganizations(ctx, caller, partners.OrganizationFilter{Kind: v.Kind}, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	v.Orgs = l.Items
	if v.Staff, err = p.Service.ActiveStaff(ctx, caller); err != nil {
		return err
	}
	// Active first, then by kind and name: what people look for.
	slices.SortStableFunc(v.Orgs, func(a, b partners.Organization) int {
		switch {
		case a.Active != b.Active:
			if a.Active {
				return -1
			}
			return 1
		case a.Kind != b.Kind:
			return slices.Index(partners.Kinds, a.Kind) - slices.Index(partners.Kinds, b.Kind)
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	p.Site.Render(c, http.StatusOK, "organizations", v)
	return nil
}

type organizationView struct {
	web.Page
	formView
	Org       *partners.Organization // nil for a new one
	Kinds     []partners.Kind
	Zones     []struct{ Name, Place string }
	Layouts   []pdfdraw.LabelLayout
	Users     []partners.User
	StaffRole partners.Role // the role of its people; "" when they do not log in
}

func (p *Partners) organizationView(o *partners.Organization, f url.Values) *organizationView {
	v := &organizationView{Org: o, Kinds: partners.Kinds, Zones: Zones, Layouts: pdfdraw.LabelLayouts}
	v.Form = f
	if o != nil {
		v.StaffRole, _ = partners.RoleOf(o.Kind)
		if !slices.ContainsFunc(Zones, func(z struct{ Name, Place string }) bool { return z.Name == o.Timezone }) {
			v.Zones = append(slices.Clone(Zones), struct{ Name, Place string }{o.Timezone, o.Timezone})
		}
	}
	return v
}

func (p *Partners) newOrganization(c *gin.Context, _ partners.Caller) error {
	kind := c.Query("type")
	if !partners.Kind(kind).Valid() {
		kind = string(partners.KindSpace)
	}
	p.Site.Render(c, http.StatusOK, "organization", p.organizationView(nil, url.Values{"kind": {kind}, "timezone": {partners.DefaultTimezone}}))
	return nil
}

func (p *Partners) createOrganization(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	tz, addr := f.Get("timezone"), f.Get("address")
	in := partners.NewOrganization{Kind: partners.Kind(f.Get("kind")), Name: f.Get("name"), Timezone: &tz, Address: &addr}
	if siren := f.Get("siren"); siren != "" {
		in.SIREN = &siren
	}
	msg := "The organisation is created."
	if role, ok := partners.RoleOf(in.Kind); ok && role != "" {
		msg = "The organisation is created. Add the people who work there."
	}
	return submit(p.Site, c, "organization", p.organizationView(nil, f), nil, msg, func() (string, error) {
		o, err := p.Service.CreateOrganization(c.Request.Context(), caller, in)
		return "/admin/organisations/" + strconv.FormatInt(o.ID, 10), err
	})
}

// organization is an organisation's page: its details to edit, its site
// settings and its people.
func (p *Partners) organization(c *gin.Context, caller partners.Caller, id int64) error {
	o, err := p.Service.GetOrganization(c.Request.Context(), caller, id)
	if err != nil {
		return err
	}
	users, err := p.Service.ListUsers(c.Request.Context(), caller, partners.UserFilter{OrganizationID: id}, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	siren := ""
	if o.SIREN != nil {
		siren = *o.SIREN
	}
	v := p.organizationView(&o, url.Values{"name": {o.Name}, "timezone": {o.Timezone}, "address": {o.Address},
		"receipt_format": {o.ReceiptFormat}, "label_layout": {o.LabelLayout}, "siren": {siren}})
	v.Users = users.Items
	p.Site.Render(c, http.StatusOK, "organization", v)
	return nil
}

// saveOrganization records the details, and a site's printers. Every
// field is checked before anything is written.
func (p *Partners) saveOrganization(c *gin.Context, caller partners.Caller, id int64) error {
	ctx := c.Request.Context()
	o, err := p.Service.GetOrganization(ctx, caller, id)
	if err != nil {
		return err
	}
	f := c.Request.PostForm
	name, tz, addr := f.Get("name"), f.Get("timezone"), f.Get("address")
	format, layout := f.Get("receipt_format"), f.Get("label_layout")
	bad := &apperr.ValidationError{}
	if o.Kind == partners.KindSpace && format != "80mm" && format != "a4" {
		bad.Field("receipt_format", "must be 80mm or a4")
	}
	if _, lerr := pdfdraw.LayoutByName(layout); o.Kind.IsSite() && layout != "" && lerr != nil {
		bad.Field("label_layout", "%q is not a layout", layout)
	}
	err = bad.Err()
	if err == nil {
		err = once(p.Site, c, "Saved.", func() (string, error) {
			patch := partners.OrganizationPatch{Name: &name, Timezone: &tz, Address: &addr}
			if o.Kind == partners.KindDonor {
				siren := f.Get("siren")
				patch.SIREN = &siren
			}
			if _, err := p.Service.UpdateOrganization(ctx, caller, id, patch); err != nil {
				return "", err
			}
			if o.Kind == partners.KindSpace && format != o.ReceiptFormat {
				if err := p.Service.SetReceiptFormat(ctx, caller, id, format); err != nil {
					return "", err
				}
			}
			if o.Kind.IsSite() && layout != o.LabelLayout {
				if err := p.Service.SetLabelLayout(ctx, caller, id, layout); err != nil {
					return "", err
				}
			}
			return "/admin/organisations/" + strconv.FormatInt(id, 10), nil
		})
	}
	if err != nil {
		v := p.organizationView(&o, f)
		if !v.fail(p.Site.Lang(c), err) {
			return err
		}
		users, _ := p.Service.ListUsers(ctx, caller, partners.UserFilter{OrganizationID: id}, paging.Page{Limit: 500})
		v.Users = users.Items
		p.Site.Render(c, http.StatusUnprocessableEntity, "organization", v)
		return nil
	}
	return nil
}

// activateOrganization deactivates an organisation (its people can no
// longer log in) or brings it back.
func (p *Partners) activateOrganization(c *gin.Context, caller partners.Caller, id int64) error {
	return p.activate(c, caller, id, func(ctx context.Context, caller partners.Caller, id int64, active bool) (string, error) {
		_, err := p.Service.UpdateOrganization(ctx, caller, id, partners.OrganizationPatch{Active: &active})
		return "/admin/organisations/" + strconv.FormatInt(id, 10), err
	}, "The organisation is deactivated: its people can no longer log in.", "The organisation is active again.")
}

// activate deactivates the record id, or brings it back, as the form's
// active says, and says which of off or on it did.
func (p *Partners) activate(c *gin.Context, caller partners.Caller, id int64, set func(ctx context.Context, caller partners.Caller, id int64, active bool) (string, error), off, on string) error {
	active := c.PostForm("active") == "1"
	msg := off
	if active {
		msg = on
	}
	return once(p.Site, c, msg, func() (string, error) { return set(c.Request.Context(), caller, id, active) })
}

type usersView struct {
	web.Page
	Users []partners.User
	Orgs  map[int64]partners.Organization
	Org   *partners.Organization // the filter, when one
}

// users lists the network's users, or one organisation's.
func (p *Partners) users(c *gin.Context, caller partners.Caller) error {
	ctx := c.Request.Context()
	v := &usersView{Orgs: map[int64]partners.Organization{}}
	f := partners.UserFilter{}
	if s := c.Query("organisation"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return apperr.Invalid("organisation", "must be an organisation's number")
		}
		f.OrganizationID = id
	}
	l, err := p.Service.ListUsers(ctx, caller, f, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	v.Users = l.Items
	orgs, err := p.Service.ListOrganizations(ctx, caller, partners.OrganizationFilter{}, paging.Page{Limit: 500})
	if err != nil {
		return err
	}
	for _, o := range orgs.Items {
		v.Orgs[o.ID] = o
	}
	if o, ok := v.Orgs[f.OrganizationID]; ok {
		v.Org = &o
	}
	p.Site.Render(c, http.StatusOK, "users", v)
	return nil
}

type userView struct {
	web.Page
	formView
	User     *partners.User
	Org      *partners.Organization
	Orgs     []partners.Organization // where a new user may work
	Roles    []partners.Role
	Password string // a generated password, shown once
	Notice   string // what to do with it
}

func (p *Partners) userForm(c *gin.Context, caller partners.Caller, f url.Values) (*userView, error) {
	v := &userView{Roles: partners.Roles}
	v.Form = f
	l, err := p.Service.ListOrganizations(c.Request.Context(), caller, partners.OrganizationFilter{}, paging.Page{Limit: 500})
	for _, o := range l.Items {
		if _, ok := partners.RoleOf(o.Kind); ok && o.Active {
			v.Orgs = append(v.Orgs, o)
		}
	}
	return v, err
}

// newUser is the form for a new user; ?organisation=ID chooses where and
// the role that fits it.
func (p *Partners) newUser(c *gin.Context, caller partners.Caller) error {
	f := url.Values{"organization_id": {c.Query("organisation")}}
	v, err := p.userForm(c, caller, f)
	if err != nil {
		return err
	}
	for _, o := range v.Orgs {
		if strconv.FormatInt(o.ID, 10) == f.Get("organization_id") {
			role, _ := partners.RoleOf(o.Kind)
			f.Set("role", string(role))
		}
	}
	p.Site.Render(c, http.StatusOK, "user_new", v)
	return nil
}

// createUserPage adds a user with a generated password, shown once on the
// page that answers; a repeated submit shows the user without it.
func (p *Partners) createUserPage(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	in := partners.NewUser{Email: f.Get("email"), Name: f.Get("name"), Role: partners.Role(f.Get("role"))}
	bad := &apperr.ValidationError{}
	if s := strings.TrimSpace(f.Get("organization_id")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			bad.Field("organization_id", "must be an organisation's number")
		}
		in.OrganizationID = &id
	}
	// No role chosen: the organisation's people's role, or the question.
	if in.Role == "" && bad.Err() == nil {
		if in.OrganizationID == nil {
			bad.Field("role", "choose the role: a network admin belongs to no organisation, anyone else to theirs")
		} else if o, err := p.Service.GetOrganization(c.Request.Context(), caller, *in.OrganizationID); err == nil {
			if fit, ok := partners.RoleOf(o.Kind); ok {
				in.Role = fit
			}
		}
	}
	var u partners.User
	var password, to string
	var repeated bool
	err := bad.Err()
	if err == nil {
		to, repeated, err = p.Site.Once(c, func() (string, error) {
			var err error
			u, password, err = p.Service.CreateUserWithPassword(c.Request.Context(), caller, in)
			return "/admin/utilisateurs/" + strconv.FormatInt(u.ID, 10), err
		})
	}
	if err != nil {
		v, ferr := p.userForm(c, caller, f)
		if ferr != nil || !v.fail(p.Site.Lang(c), err) {
			return errors.Join(err, ferr)
		}
		p.Site.Render(c, http.StatusUnprocessableEntity, "user_new", v)
		return nil
	}
	if repeated {
		p.Site.Done(c, to, true, "")
		return nil
	}
	return p.showPassword(c, caller, u, password, "The account is created. Give this password to the person: it is shown only once.")
}

// showPassword draws the user's page with a password shown this once (not
// kept by the browser).
func (p *Partners) showPassword(c *gin.Context, caller partners.Caller, u partners.User, password, msg string) error {
	v, err := p.userPage(c, caller, u.ID)
	if err != nil {
		return err
	}
	v.Password, v.Notice = password, p.Site.Lang(c).T(msg)
	c.Header("Cache-Control", "no-store")
	p.Site.Render(c, http.StatusOK, "user", v)
	return nil
}

func (p *Partners) userPage(c *gin.Context, caller partners.Caller, id int64) (*userView, error) {
	u, err := p.Service.GetUser(c.Request.Context(), caller, id)
	if err != nil {
		return nil, err
	}
	v := &userView{User: &u}
	if u.OrganizationID != nil {
		o, err := p.Service.GetOrganization(c.Request.Context(), caller, *u.OrganizationID)
		if err != nil {
			return nil, err
		}
		v.Org = &o
	}
	return v, nil
}

func (p *Partners) user(c *gin.Context, caller partners.Caller, id int64) error {
	v, err := p.userPage(c, caller, id)
	if err != nil {
		return err
	}
	p.Site.Render(c, http.StatusOK, "user", v)
	return nil
}

func (p *Partners) activateUser(c *gin.Context, caller partners.Caller, id int64) error {
	return p.activate(c, caller, id, func(ctx context.Context, caller partners.Caller, id int64, active bool) (string, error) {
		_, err := p.Service.UpdateUser(ctx, caller, id, partners.UserPatch{Active: &active})
		return "/admin/utilisateurs/" + strconv.FormatInt(id, 10), err
	}, "The account is deactivated: this person is logged out and can no longer log in.", "The account is active again.")
}

// resetPassword gives a user a new generated password, shown once.
func (p *Partners) resetPassword(c *gin.Context, caller partners.Caller, id int64) error {
	var u partners.User
	var password string
	to, repeated, err := p.Site.Once(c, func() (string, error) {
		var err error
		u, password, err = p.Service.ResetPassword(c.Request.Context(), caller, id)
		return "/admin/utilisateurs/" + strconv.FormatInt(id, 10), err
	})
	if err != nil {
		return err
	}
	if repeated {
		p.Site.Done(c, to, true, "")
		return nil
	}
	return p.showPassword(c, caller, u, password, "New password: give it to the person. It is shown only once; their open sessions are closed.")
}

// networkView is the network's identity form.
type networkView struct {
	web.Page
	formView
}

func networkForm(n partners.Network) url.Values {
	f := url.Values{"legal_name": {n.LegalName}, "address": {n.Address}, "siren": {n.SIREN}, "rna": {n.RNA}, "purpose": {n.Purpose},
		"handover": {n.Handover}, "handover_text": {n.HandoverText}}
	if n.TaxReceipts {
		f.Set("tax_receipts", "1")
	}
	return f
}

// network is the network's legal identity, printed on tax receipts and
// erasure certificates (admins).
func (p *Partners) network(c *gin.Context, caller partners.Caller) error {
	n, err := p.Service.GetNetwork(c.Request.Context(), caller)
	if err != nil {
		return err
	}
	v := &networkView{}
	v.Form = networkForm(n)
	p.Site.Render(c, http.StatusOK, "network", v)
	return nil
}

func (p *Partners) saveNetwork(c *gin.Context, caller partners.Caller) error {
	f := c.Request.PostForm
	get := func(k string) *string { v := f.Get(k); return &v }
	on := f.Get("tax_receipts") != ""
	in := partners.NetworkPatch{LegalName: get("legal_name"), Address: get("address"), SIREN: get("siren"), RNA: get("rna"), Purpose: get("purpose"), TaxReceipts: &on,
		Handover: get("handover"), HandoverText: get("handover_text")}
	if f.Get("handover") == "" {
		in.Handover, in.HandoverText = nil, nil // a form from before handover: left as it is
	}
	err := once(p.Site, c, "The network's identity is saved.", func() (string, error) {
		_, err := p.Service.UpdateNetwork(c.Request.Context(), caller, in)
		return "/admin/reseau", err
	})
	if err != nil {
		v := &networkView{}
		v.Form = f
		if !v.fail(p.Site.Lang(c), err) {
			return err
		}
		p.Site.Render(c, http.StatusUnprocessableEntity, "network", v)
		return nil
	}
	return nil
}
