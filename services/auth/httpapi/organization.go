package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/organization"
)

// The organization plugin's routes (Better Auth 1.7.25,
// dist/plugins/organization/routes, teams and dynamic access control off),
// mounted only with the plugin on. The rules live in package organization;
// this file reads bodies and renders Better Auth's answers.
func (h *handler) mountOrganization(api *gin.RouterGroup) {
	session := h.requireSession(false)
	api.POST("/organization/create", validated(h, objectShape, parseCreateOrg), h.createOrganization)
	api.POST("/organization/update", validated(h, objectShape, parseUpdateOrg), h.updateOrganization)
	api.POST("/organization/delete", validated(h, objectShape, parseOrgIDBody(true)), h.deleteOrganization)
	api.POST("/organization/check-slug", validated(h, objectShape, parseCheckSlug), session, h.checkSlug)
	api.GET("/organization/list", session, h.listOrganizations)
	api.GET("/organization/get-full-organization", session, h.getFullOrganization)
	api.GET("/organization/get-organization", session, h.getOrganization)
	api.POST("/organization/set-active", validated(h, objectShape, parseSetActive), session, h.setActiveOrganization)
	api.POST("/organization/invite-member", validated(h, objectShape, parseInvite), session, h.inviteMember)
	api.GET("/organization/get-invitation", h.getInvitation)
	api.POST("/organization/accept-invitation", validated(h, objectShape, parseInvitationID), session, h.acceptInvitation)
	api.POST("/organization/reject-invitation", validated(h, objectShape, parseInvitationID), session, h.rejectInvitation)
	api.POST("/organization/cancel-invitation", validated(h, objectShape, parseInvitationID), session, h.cancelInvitation)
	api.GET("/organization/list-invitations", session, h.listInvitations)
	api.GET("/organization/list-user-invitations", h.listUserInvitations)
	api.GET("/organization/list-members", session, h.listMembers)
	api.GET("/organization/get-active-member", session, h.getActiveMember)
	api.GET("/organization/get-active-member-role", session, h.getActiveMemberRole)
	api.POST("/organization/update-member-role", validated(h, objectShape, parseUpdateRole), session, h.updateMemberRole)
	api.POST("/organization/remove-member", validated(h, objectShape, parseRemoveMember), session, h.removeMember)
	api.POST("/organization/leave", validated(h, objectShape, parseOrgIDBody(true)), session, h.leaveOrganization)
	api.POST("/organization/has-permission", validated(h, objectShape, parseHasPermission), session, h.hasPermission)
}

// orgErrors maps an organization refusal's kind to its status.
var orgStatus = map[organization.Kind]int{
	organization.Invalid:      http.StatusBadRequest,
	organization.Forbidden:    http.StatusForbidden,
	organization.Unauthorized: http.StatusUnauthorized,
	organization.NotFound:     http.StatusNotFound,
}

// orgFail answers an organization refusal as Better Auth does (a refusal
// without a message is a bare status), anything else through fail.
func (h *handler) orgFail(c *gin.Context, err error) {
	var refusal *organization.Error
	if !errors.As(err, &refusal) {
		h.fail(c, err)
		return
	}
	status := orgStatus[refusal.Kind]
	if refusal.Message == "" {
		bareStatus(c, status)
		return
	}
	c.AbortWithStatusJSON(status, &apiError{Status: status, Code: refusal.Code, Message: refusal.Message})
}

// bareStatus is Better Auth's APIError without a body: the status, an
// empty body, and still its JSON content type.
func bareStatus(c *gin.Context, status int) {
	c.Header("Content-Type", "application/json")
	c.AbortWithStatus(status)
}

func actorOf(auth identity.Authenticated) organization.Actor {
	return organization.Actor{
		UserID: auth.User.ID, Name: auth.User.Name, Email: auth.User.Email, EmailVerified: auth.User.EmailVerified,
		SessionID: auth.Session.ID, ActiveOrganizationID: auth.Session.ActiveOrganizationID,
	}
}

// sessionOrNone is optionalSession for routes that answer a missing session
// themselves; answered reports that a store failure was answered here.
func (h *handler) sessionOrNone(c *gin.Context) (auth identity.Authenticated, ok, answered bool) {
	current, err := h.optionalSession(c)
	if err != nil {
		h.fail(c, err)
		return auth, false, true
	}
	if current == nil {
		return auth, false, false
	}
	return *current, true, false
}

// The plugin's output models, members in Better Auth's order.
type orgJSON struct {
	Name      string  `json:"name"`
	Slug      string  `json:"slug"`
	Logo      *string `json:"logo"`
	CreatedAt string  `json:"createdAt"`
	// Metadata is the stored JSON text (or null) everywhere except create
	// and update, which answer it parsed (and omit it when there is none).
	Metadata any    `json:"metadata,omitempty"`
	ID       string `json:"id"`
}

func renderOrg(o organization.Organization) orgJSON {
	out := orgJSON{Name: o.Name, Slug: o.Slug, Logo: o.Logo, CreatedAt: jsTime(o.CreatedAt), ID: o.ID, Metadata: json.RawMessage("null")}
	if o.Metadata != nil {
		out.Metadata = *o.Metadata
	}
	return out
}

// renderOrgParsed is create's and update's form: metadata parsed.
func renderOrgParsed(o organization.Organization) orgJSON {
	out := renderOrg(o)
	out.Metadata = nil
	if o.Metadata != nil && json.Valid([]byte(*o.Metadata)) {
		out.Metadata = json.RawMessage(*o.Metadata)
	}
	return out
}

type userRefJSON struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Email string  `json:"email"`
	Image *string `json:"image"`
}

type memberJSON struct {
	OrganizationID string       `json:"organizationId"`
	UserID         string       `json:"userId"`
	Role           string       `json:"role"`
	CreatedAt      string       `json:"createdAt"`
	ID             string       `json:"id"`
	User           *userRefJSON `json:"user,omitempty"`
}

// renderMember renders a member; withUser adds the user as the routes that
// join it do.
func renderMember(m organization.Member, withUser bool) memberJSON {
	out := memberJSON{OrganizationID: m.OrganizationID, UserID: m.UserID, Role: m.Role, CreatedAt: jsTime(m.CreatedAt), ID: m.ID}
	if withUser {
		out.User = &userRefJSON{ID: m.User.ID, Name: m.User.Name, Email: m.User.Email, Image: m.User.Image}
	}
	return out
}

func renderMembers(ms []organization.Member) []memberJSON {
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = renderMember(m, true)
	}
	return out
}

type invitationJSON struct {
	OrganizationID string  `json:"organizationId"`
	Email          string  `json:"email"`
	Role           *string `json:"role"`
	Status         string  `json:"status"`
	ExpiresAt      string  `json:"expiresAt"`
	CreatedAt      string  `json:"createdAt"`
	InviterID      string  `json:"inviterId"`
	ID             string  `json:"id"`
}

func renderInvitation(i organization.Invitation) invitationJSON {
	return invitationJSON{
		OrganizationID: i.OrganizationID, Email: i.Email, Role: i.Role, Status: i.Status,
		ExpiresAt: jsTime(i.ExpiresAt), CreatedAt: jsTime(i.CreatedAt), InviterID: i.InviterID, ID: i.ID,
	}
}

func renderInvitations(is []organization.Invitation) []invitationJSON {
	out := make([]invitationJSON, len(is))
	for i, inv := range is {
		out[i] = renderInvitation(inv)
	}
	return out
}

// minOne is zod's complaint about an empty string under .min(1).
const minOne = "Too small: expected string to have >=1 characters"

// metadataOf reads a metadata record and keeps it as JSON text.
func metadataOf(b body, v *validationErrors) *string {
	raw, ok := b["metadata"]
	if !ok {
		return nil
	}
	obj, isObj := raw.(map[string]any)
	if !isObj {
		v.add("metadata", "Invalid input: expected record, received "+jsType(raw))
		return nil
	}
	text, err := json.Marshal(obj)
	if err != nil || !cleanText(string(text)) {
		v.add("metadata", badTextMessage)
		return nil
	}
	s := string(text)
	return &s
}

func requiredNonEmpty(b body, v *validationErrors, field string) string {
	s, ok := b.str(v, field, true)
	if ok && s == "" {
		v.add(field, minOne)
	}
	return s
}

func parseCreateOrg(b body, v *validationErrors) organization.CreateInput {
	in := organization.CreateInput{Name: requiredNonEmpty(b, v, "name"), Slug: requiredNonEmpty(b, v, "slug")}
	// userId is server-only in Better Auth: with a session it is ignored.
	if raw, ok := b["userId"]; ok && raw != nil {
		switch raw.(type) {
		case string, json.Number, bool:
		default:
			v.add("userId", "Invalid input: expected string, received "+jsType(raw))
		}
	}
	in.Logo, _ = b.nullableStr(v, "logo")
	in.Metadata = metadataOf(b, v)
	in.KeepActive = b.boolean(v, "keepCurrentActiveOrganization", false)
	return in
}

func (h *handler) createOrganization(c *gin.Context) {
	auth, ok, answered := h.sessionOrNone(c)
	if answered {
		return
	}
	if !ok { // Better Auth: a bare 401
		bareStatus(c, http.StatusUnauthorized)
		return
	}
	org, owner, err := h.orgs.Create(c.Request.Context(), actorOf(auth), inputOf[organization.CreateInput](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, struct {
		orgJSON
		Members []memberJSON `json:"members"`
	}{renderOrgParsed(org), []memberJSON{renderMember(owner, false)}})
}

type updateOrgInput struct {
	orgID string
	patch organization.Patch
}

func parseUpdateOrg(b body, v *validationErrors) updateOrgInput {
	var in updateOrgInput
	in.orgID, _ = b.str(v, "organizationId", false)
	raw, ok := b["data"]
	if !ok {
		v.add("data", "Invalid input: expected object, received undefined")
		return in
	}
	obj, isObj := raw.(map[string]any)
	if !isObj {
		v.add("data", "Invalid input: expected object, received "+jsType(raw))
		return in
	}
	d := body(obj)
	var sub validationErrors
	if s, ok := d.str(&sub, "name", false); ok {
		if s == "" {
			sub.add("name", minOne)
		}
		in.patch.Name = &s
	}
	if s, ok := d.str(&sub, "slug", false); ok {
		if s == "" {
			sub.add("slug", minOne)
		}
		in.patch.Slug = &s
	}
	in.patch.Logo, in.patch.SetLogo = d.nullableStr(&sub, "logo")
	in.patch.Metadata = metadataOf(d, &sub)
	for _, issue := range sub.issues { // [body.name] → [body.data.name]
		v.issues = append(v.issues, "[body.data."+issue[len("[body."):])
	}
	return in
}

func (h *handler) updateOrganization(c *gin.Context) {
	auth, ok, answered := h.sessionOrNone(c)
	if answered {
		return
	}
	if !ok {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": "User not found"})
		return
	}
	in := inputOf[updateOrgInput](c)
	org, err := h.orgs.Update(c.Request.Context(), actorOf(auth), in.orgID, in.patch)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderOrgParsed(org))
}

// parseOrgIDBody reads {organizationId} (delete, leave).
func parseOrgIDBody(required bool) func(b body, v *validationErrors) string {
	return func(b body, v *validationErrors) string {
		s, _ := b.str(v, "organizationId", required)
		return s
	}
}

func (h *handler) deleteOrganization(c *gin.Context) {
	auth, ok, answered := h.sessionOrNone(c)
	if answered {
		return
	}
	if !ok {
		bareStatus(c, http.StatusUnauthorized)
		return
	}
	org, err := h.orgs.Delete(c.Request.Context(), actorOf(auth), inputOf[string](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderOrg(org))
}

func parseCheckSlug(b body, v *validationErrors) string {
	s, _ := b.str(v, "slug", true)
	return s
}

func (h *handler) checkSlug(c *gin.Context) {
	if err := h.orgs.CheckSlug(c.Request.Context(), inputOf[string](c)); err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

func (h *handler) listOrganizations(c *gin.Context) {
	orgs, err := h.orgs.List(c.Request.Context(), actorOf(authOf(c)))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	out := make([]orgJSON, len(orgs))
	for i, o := range orgs {
		out[i] = renderOrg(o)
	}
	c.JSON(http.StatusOK, out)
}

func lookupOf(c *gin.Context) organization.Lookup {
	return organization.Lookup{ID: c.Query("organizationId"), Slug: c.Query("organizationSlug")}
}

func (h *handler) getOrganization(c *gin.Context) {
	org, ok, err := h.orgs.Get(c.Request.Context(), actorOf(authOf(c)), lookupOf(c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	if !ok {
		c.Data(http.StatusOK, "application/json", []byte("null"))
		return
	}
	c.JSON(http.StatusOK, renderOrg(org))
}

func (h *handler) getFullOrganization(c *gin.Context) {
	limit := 0
	if raw := c.Query("membersLimit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			h.fail(c, &validationErrors{issues: []string{"[query.membersLimit] Invalid input: expected number"}})
			return
		}
		limit = n
	}
	full, ok, err := h.orgs.GetFull(c.Request.Context(), actorOf(authOf(c)), lookupOf(c), limit)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	if !ok {
		c.Data(http.StatusOK, "application/json", []byte("null"))
		return
	}
	c.JSON(http.StatusOK, struct {
		orgJSON
		Invitations []invitationJSON `json:"invitations"`
		Members     []memberJSON     `json:"members"`
	}{renderOrg(full.Organization), renderInvitations(full.Invitations), renderMembers(full.Members)})
}

type setActiveInput struct {
	lookup organization.Lookup
	unset  bool
}

func parseSetActive(b body, v *validationErrors) setActiveInput {
	var in setActiveInput
	id, present := b.nullableStr(v, "organizationId")
	if present && id == nil {
		in.unset = true
	} else if id != nil {
		in.lookup.ID = *id
	}
	in.lookup.Slug, _ = b.str(v, "organizationSlug", false)
	return in
}

func (h *handler) setActiveOrganization(c *gin.Context) {
	auth := authOf(c)
	in := inputOf[setActiveInput](c)
	org, ok, err := h.orgs.SetActive(c.Request.Context(), actorOf(auth), in.lookup, in.unset)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	changed := ok || (in.unset && auth.Session.ActiveOrganizationID != "")
	if changed { // Better Auth re-sends the session cookie
		h.cookies.setSession(c, auth.Session.Token, !h.dontRemember(c), h.ids.Policy().SessionTTL)
	}
	if !ok {
		c.Data(http.StatusOK, "application/json", []byte("null"))
		return
	}
	c.JSON(http.StatusOK, renderOrg(org))
}

// rolesOf reads a role given as a string or an array of strings.
func rolesOf(b body, v *validationErrors, field string) []string {
	raw, ok := b[field]
	if !ok {
		v.add(field, "Invalid input")
		return nil
	}
	switch x := raw.(type) {
	case string:
		if !cleanText(x) {
			v.add(field, badTextMessage)
		}
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok || !cleanText(s) {
				v.add(field, "Invalid input")
				return nil
			}
			out = append(out, s)
		}
		return out
	default:
		v.add(field, "Invalid input")
		return nil
	}
}

func parseInvite(b body, v *validationErrors) organization.InviteInput {
	var in organization.InviteInput
	in.Email, _ = b.str(v, "email", true)
	in.Roles = rolesOf(b, v, "role")
	in.OrganizationID, _ = b.str(v, "organizationId", false)
	in.Resend = b.boolean(v, "resend", false)
	if _, ok := b["teamId"]; ok { // teams are off: a team id names nothing
		v.add("teamId", "Invalid input: teams are not enabled")
	}
	return in
}

func (h *handler) inviteMember(c *gin.Context) {
	inv, err := h.orgs.Invite(c.Request.Context(), actorOf(authOf(c)), inputOf[organization.InviteInput](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderInvitation(inv))
}

func parseInvitationID(b body, v *validationErrors) string {
	s, _ := b.str(v, "invitationId", true)
	return s
}

func (h *handler) getInvitation(c *gin.Context) {
	id, present := c.GetQuery("id")
	if !present {
		h.fail(c, &validationErrors{issues: []string{"[query.id] Invalid input: expected string, received undefined"}})
		return
	}
	auth, ok, answered := h.sessionOrNone(c)
	if answered {
		return
	}
	if !ok {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": "Not authenticated"})
		return
	}
	view, err := h.orgs.GetInvitation(c.Request.Context(), actorOf(auth), id)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, struct {
		invitationJSON
		OrganizationName string `json:"organizationName"`
		OrganizationSlug string `json:"organizationSlug"`
		InviterEmail     string `json:"inviterEmail"`
	}{renderInvitation(view.Invitation), view.OrganizationName, view.OrganizationSlug, view.InviterEmail})
}

func (h *handler) acceptInvitation(c *gin.Context) {
	inv, m, err := h.orgs.Accept(c.Request.Context(), actorOf(authOf(c)), inputOf[string](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"invitation": renderInvitation(inv), "member": renderMember(m, false)})
}

func (h *handler) rejectInvitation(c *gin.Context) {
	inv, err := h.orgs.Reject(c.Request.Context(), actorOf(authOf(c)), inputOf[string](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"invitation": renderInvitation(inv), "member": nil})
}

func (h *handler) cancelInvitation(c *gin.Context) {
	inv, err := h.orgs.Cancel(c.Request.Context(), actorOf(authOf(c)), inputOf[string](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderInvitation(inv))
}

func (h *handler) listInvitations(c *gin.Context) {
	invs, err := h.orgs.ListInvitations(c.Request.Context(), actorOf(authOf(c)), c.Query("organizationId"))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderInvitations(invs))
}

func (h *handler) listUserInvitations(c *gin.Context) {
	if _, ok := c.GetQuery("email"); ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "User email cannot be passed for client side API calls."})
		return
	}
	auth, ok, answered := h.sessionOrNone(c)
	if answered {
		return
	}
	if !ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "Missing session headers, or email query parameter."})
		return
	}
	invs, err := h.orgs.ListUserInvitations(c.Request.Context(), actorOf(auth))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	type userInvitationJSON struct {
		invitationJSON
		OrganizationName string `json:"organizationName"`
	}
	out := make([]userInvitationJSON, len(invs))
	for i, inv := range invs {
		out[i] = userInvitationJSON{renderInvitation(inv.Invitation), inv.OrganizationName}
	}
	c.JSON(http.StatusOK, out)
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c *gin.Context, name string) (int, bool) {
	raw := c.Query(name)
	if raw == "" {
		return 0, true
	}
	n, err := strconv.Atoi(raw)
	return n, err == nil && n >= 0
}

func (h *handler) listMembers(c *gin.Context) {
	for _, unsupported := range []string{"sortBy", "filterField"} {
		if c.Query(unsupported) != "" { // Latch does not sort or filter members; say so rather than ignore it
			h.fail(c, &validationErrors{issues: []string{"[query." + unsupported + "] Invalid input: not supported by this server"}})
			return
		}
	}
	limit, ok1 := queryInt(c, "limit")
	offset, ok2 := queryInt(c, "offset")
	if !ok1 || !ok2 {
		h.fail(c, &validationErrors{issues: []string{"[query] Invalid input: limit and offset are non-negative integers"}})
		return
	}
	members, total, err := h.orgs.ListMembers(c.Request.Context(), actorOf(authOf(c)), lookupOf(c), limit, offset)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"members": renderMembers(members), "total": total})
}

func (h *handler) getActiveMember(c *gin.Context) {
	m, err := h.orgs.ActiveMember(c.Request.Context(), actorOf(authOf(c)))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderMember(m, true))
}

func (h *handler) getActiveMemberRole(c *gin.Context) {
	role, err := h.orgs.MemberRole(c.Request.Context(), actorOf(authOf(c)), lookupOf(c), c.Query("userId"))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"role": role})
}

func parseUpdateRole(b body, v *validationErrors) organization.UpdateRoleInput {
	var in organization.UpdateRoleInput
	in.Roles = rolesOf(b, v, "role")
	in.MemberID, _ = b.str(v, "memberId", true)
	in.OrganizationID, _ = b.str(v, "organizationId", false)
	return in
}

func (h *handler) updateMemberRole(c *gin.Context) {
	m, err := h.orgs.UpdateRole(c.Request.Context(), actorOf(authOf(c)), inputOf[organization.UpdateRoleInput](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderMember(m, false))
}

func parseRemoveMember(b body, v *validationErrors) organization.RemoveInput {
	var in organization.RemoveInput
	in.MemberIDOrEmail, _ = b.str(v, "memberIdOrEmail", true)
	in.OrganizationID, _ = b.str(v, "organizationId", false)
	return in
}

func (h *handler) removeMember(c *gin.Context) {
	in := inputOf[organization.RemoveInput](c)
	m, err := h.orgs.Remove(c.Request.Context(), actorOf(authOf(c)), in)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	// Better Auth's lookup by email joins the user; by id it drops it.
	c.JSON(http.StatusOK, gin.H{"member": renderMember(m, strings.Contains(in.MemberIDOrEmail, "@"))})
}

func (h *handler) leaveOrganization(c *gin.Context) {
	m, err := h.orgs.Leave(c.Request.Context(), actorOf(authOf(c)), inputOf[string](c))
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderMember(m, true))
}

type hasPermissionInput struct {
	orgID       string
	permissions organization.Permissions
}

// permissionsOf reads a record of string arrays.
func permissionsOf(b body, v *validationErrors, field string) (organization.Permissions, bool) {
	raw, ok := b[field]
	if !ok {
		return nil, false
	}
	obj, isObj := raw.(map[string]any)
	if !isObj {
		v.add(field, "Invalid input: expected record, received "+jsType(raw))
		return nil, true
	}
	out := organization.Permissions{}
	for resource, actions := range obj {
		list, isList := actions.([]any)
		if !isList {
			v.add(field+"."+resource, "Invalid input: expected array, received "+jsType(actions))
			continue
		}
		for _, a := range list {
			s, isStr := a.(string)
			if !isStr {
				v.add(field+"."+resource, "Invalid input: expected string, received "+jsType(a))
				continue
			}
			out[resource] = append(out[resource], s)
		}
		if out[resource] == nil {
			out[resource] = []string{}
		}
	}
	return out, true
}

func parseHasPermission(b body, v *validationErrors) hasPermissionInput {
	var in hasPermissionInput
	in.orgID, _ = b.str(v, "organizationId", false)
	perms, hasNew := permissionsOf(b, v, "permissions")
	_, hasOld := permissionsOf(b, v, "permission")
	if hasNew == hasOld { // z.xor: exactly one of them
		v.issues = append(v.issues, "[body] Invalid input")
	}
	// The deprecated permission field is accepted and, as in Better Auth,
	// never grants anything: only permissions is checked.
	in.permissions = perms
	return in
}

func (h *handler) hasPermission(c *gin.Context) {
	in := inputOf[hasPermissionInput](c)
	ok, err := h.orgs.HasPermission(c.Request.Context(), actorOf(authOf(c)), in.orgID, in.permissions)
	if err != nil {
		h.orgFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"error": nil, "success": ok})
}
