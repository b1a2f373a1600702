package api

import (
	"net/http"
	"strconv"

	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
)

// Partners serves the partners endpoints of /api/v1.
type Partners struct {
	Service *partners.Service
}

// Routes mounts the public routes on public and the others on authed (a group
// behind RequireAuth).
func (a *Partners) Routes(public, authed *gin.RouterGroup) {
	public.POST("/auth/login", httpx.Handle(a.login))
	authed.POST("/auth/logout", withCaller(a.logout))
	authed.GET("/me", withCaller(a.me))

	authed.POST("/organizations", Allow(partners.RoleAdmin), create(a.Service.CreateOrganization, func(o partners.Organization) string { return "/api/v1/organizations/" + strconv.FormatInt(o.ID, 10) }))
	authed.GET("/organizations", withCaller(a.listOrganizations))
	authed.GET("/organizations/:id", withCaller(a.getOrganization))
	authed.PATCH("/organizations/:id", Allow(partners.RoleAdmin), withCaller(a.updateOrganization))

	authed.GET("/network", Allow(partners.RoleAdmin), withCaller(func(c *gin.Context, caller partners.Caller) error {
		n, err := a.Service.GetNetwork(c.Request.Context(), caller)
		return httpx.OK(c, n, err)
	}))
	authed.PATCH("/network", Allow(partners.RoleAdmin), withCaller(func(c *gin.Context, caller partners.Caller) error {
		var in partners.NetworkPatch
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		n, err := a.Service.UpdateNetwork(c.Request.Context(), caller, in)
		return httpx.OK(c, n, err)
	}))

	authed.POST("/users", Allow(partners.RoleAdmin), create(a.Service.CreateUser, func(u partners.User) string { return "/api/v1/users/" + strconv.FormatInt(u.ID, 10) }))
	authed.GET("/users", withCaller(a.listUsers))
	authed.GET("/users/:id", withCaller(a.getUser))
	authed.PATCH("/users/:id", withCaller(a.updateUser))
}

func (a *Partners) login(c *gin.Context) error {
	var in partners.Credentials
	if err := httpx.DecodeJSONUnchecked(c, &in); err != nil { // Login refuses bad text as bad credentials (401)
		return err
	}
	s, err := a.Service.Login(c.Request.Context(), in, partners.TokenBearer, partners.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s)
	return nil
}

func (a *Partners) logout(c *gin.Context, caller partners.Caller) error {
	if err := a.Service.Logout(c.Request.Context(), caller); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// MeView is the caller's user record with their organisation.
type MeView struct {
	partners.User
	Organization *partners.Organization `json:"organization"`
}

func (a *Partners) me(c *gin.Context, caller partners.Caller) error {
	u, err := a.Service.Me(c.Request.Context(), caller)
	if err != nil {
		return err
	}
	view := MeView{User: u}
	if caller.OrganizationID != 0 {
		o, err := a.Service.GetOrganization(c.Request.Context(), caller, caller.OrganizationID)
		if err != nil {
			return err
		}
		view.Organization = &o
	}
	c.JSON(http.StatusOK, view)
	return nil
}

func (a *Partners) listOrganizations(c *gin.Context, caller partners.Caller) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	l, err := a.Service.ListOrganizations(c.Request.Context(), caller, partners.OrganizationFilter{Kind: partners.Kind(c.Query("kind"))}, page)
	return httpx.OK(c, l, err)
}

func (a *Partners) getOrganization(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	o, err := a.Service.GetOrganization(c.Request.Context(), caller, id)
	return httpx.OK(c, o, err)
}

func (a *Partners) updateOrganization(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in partners.OrganizationPatch
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	o, err := a.Service.UpdateOrganization(c.Request.Context(), caller, id, in)
	return httpx.OK(c, o, err)
}

func (a *Partners) listUsers(c *gin.Context, caller partners.Caller) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	f := partners.UserFilter{Role: partners.Role(c.Query("role"))}
	if s := c.Query("organization_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return apperr.Invalid("organization_id", "must be a positive whole number")
		}
		f.OrganizationID = id
	}
	l, err := a.Service.ListUsers(c.Request.Context(), caller, f, page)
	return httpx.OK(c, l, err)
}

func (a *Partners) getUser(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	u, err := a.Service.GetUser(c.Request.Context(), caller, id)
	return httpx.OK(c, u, err)
}

func (a *Partners) updateUser(c *gin.Context, caller partners.Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in partners.UserPatch
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := a.Service.UpdateUser(c.Request.Context(), caller, id, in)
	return httpx.OK(c, u, err)
}
