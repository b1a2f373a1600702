package partners

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
)

// API serves the partners endpoints of /api/v1.
type API struct {
	Service *Service
}

// Routes mounts the public routes on public and the others on authed (a group
// behind RequireAuth).
func (a *API) Routes(public, authed *gin.RouterGroup) {
	public.POST("/auth/login", httpx.Handle(a.login))
	authed.POST("/auth/logout", httpx.Authed(a.logout))
	authed.GET("/me", httpx.Authed(a.me))

	authed.POST("/organizations", Allow(RoleAdmin), httpx.Create(a.Service.CreateOrganization, func(o Organization) string { return "/api/v1/organizations/" + strconv.FormatInt(o.ID, 10) }))
	authed.GET("/organizations", httpx.Authed(a.listOrganizations))
	authed.GET("/organizations/:id", httpx.Authed(a.getOrganization))
	authed.PATCH("/organizations/:id", Allow(RoleAdmin), httpx.Authed(a.updateOrganization))

	authed.GET("/network", Allow(RoleAdmin), httpx.Authed(func(c *gin.Context, caller Caller) error {
		n, err := a.Service.GetNetwork(c.Request.Context(), caller)
		return httpx.OK(c, n, err)
	}))
	authed.PATCH("/network", Allow(RoleAdmin), httpx.Authed(func(c *gin.Context, caller Caller) error {
		var in NetworkPatch
		if err := httpx.DecodeJSON(c, &in); err != nil {
			return err
		}
		n, err := a.Service.UpdateNetwork(c.Request.Context(), caller, in)
		return httpx.OK(c, n, err)
	}))

	authed.POST("/users", Allow(RoleAdmin), httpx.Create(a.Service.CreateUser, func(u User) string { return "/api/v1/users/" + strconv.FormatInt(u.ID, 10) }))
	authed.GET("/users", httpx.Authed(a.listUsers))
	authed.GET("/users/:id", httpx.Authed(a.getUser))
	authed.PATCH("/users/:id", httpx.Authed(a.updateUser))
}

func (a *API) login(c *gin.Context) error {
	var in Credentials
	if err := httpx.DecodeJSONUnchecked(c, &in); err != nil { // Login refuses bad text as bad credentials (401)
		return err
	}
	s, err := a.Service.Login(c.Request.Context(), in, TokenBearer, Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s)
	return nil
}

func (a *API) logout(c *gin.Context, caller Caller) error {
	if err := a.Service.Logout(c.Request.Context(), caller); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// MeView is the caller's user record with their organisation.
type MeView struct {
	User
	Organization *Organization `json:"organization"`
}

func (a *API) me(c *gin.Context, caller Caller) error {
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

func (a *API) listOrganizations(c *gin.Context, caller Caller) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	l, err := a.Service.ListOrganizations(c.Request.Context(), caller, OrganizationFilter{Kind: Kind(c.Query("kind"))}, page)
	return httpx.OK(c, l, err)
}

func (a *API) getOrganization(c *gin.Context, caller Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	o, err := a.Service.GetOrganization(c.Request.Context(), caller, id)
	return httpx.OK(c, o, err)
}

func (a *API) updateOrganization(c *gin.Context, caller Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in OrganizationPatch
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	o, err := a.Service.UpdateOrganization(c.Request.Context(), caller, id, in)
	return httpx.OK(c, o, err)
}

func (a *API) listUsers(c *gin.Context, caller Caller) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	f := UserFilter{Role: Role(c.Query("role"))}
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

func (a *API) getUser(c *gin.Context, caller Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	u, err := a.Service.GetUser(c.Request.Context(), caller, id)
	return httpx.OK(c, u, err)
}

func (a *API) updateUser(c *gin.Context, caller Caller) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in UserPatch
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := a.Service.UpdateUser(c.Request.Context(), caller, id, in)
	return httpx.OK(c, u, err)
}
