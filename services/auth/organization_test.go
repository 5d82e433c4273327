package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// orgUser is a signed-up user and their session cookie.
type orgUser struct {
	email  string
	cookie string
}

func (u orgUser) h() map[string]string { return cookieHeader(u.cookie) }

func startOrganizations(t *testing.T, plugins string) (*testServer, string) {
	t.Helper()
	return startWithOutbox(t, map[string]string{"AUTH_PLUGINS": plugins})
}

func signedUp(t *testing.T, ts *testServer, name string) orgUser {
	t.Helper()
	email := name + "@example.com"
	return orgUser{email: email, cookie: ts.signUp(email, "correct horse battery").sessionCookie(t)}
}

// call posts (body != "") or gets path as u and decodes the answer.
func (ts *testServer) as(u orgUser, path, body string) (response, map[string]any) {
	ts.t.Helper()
	var r response
	if body == "" {
		r = ts.get(path, u.h())
	} else {
		r = ts.post(path, body, u.h())
	}
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r, m
}

func expect(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	if r.status != status || (code != "" && m["code"] != code) {
		t.Errorf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

// tokenClaims mints u's JWT at /token and decodes it.
func (ts *testServer) tokenClaims(t *testing.T, u orgUser) map[string]any {
	t.Helper()
	r := ts.get("/api/auth/token", u.h())
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	_, claims := decodeJWT(t, r.json(t)["token"].(string))
	return claims
}

func activeOrg(t *testing.T, ts *testServer, u orgUser) any {
	t.Helper()
	r := ts.get("/api/auth/get-session", u.h())
	s := r.json(t)["session"].(map[string]any)
	v, present := s["activeOrganizationId"]
	if !present {
		t.Fatalf("get-session has no activeOrganizationId with the plugin on: %s", r.body)
	}
	return v
}

// invite has owner invite name to org with role and returns the invitation id from the mail.
func invite(t *testing.T, ts *testServer, outbox string, owner orgUser, orgID, email, role string) string {
	t.Helper()
	r, inv := ts.as(owner, "/api/auth/organization/invite-member", fmt.Sprintf(`{"email":%q,"role":%q,"organizationId":%q}`, email, role, orgID))
	if r.status != http.StatusOK {
		t.Fatalf("invite %s: %d %s", email, r.status, r.body)
	}
	mails := readOutbox(t, outbox)
	last := mails[len(mails)-1]
	if last.To != email || last.InvitationID != inv["id"] || last.Link != ts.base+"/accept-invitation/"+inv["id"].(string) ||
		!strings.Contains(last.Text, last.Link) {
		t.Errorf("invitation mail %+v for %v", last, inv)
	}
	return inv["id"].(string)
}

func TestOrganizationLifecycleAndTokenClaims(t *testing.T) {
	t.Parallel()
	ts, outbox := startOrganizations(t, "organization")
	ann, bob := signedUp(t, ts, "ann"), signedUp(t, ts, "bob")
	if v := activeOrg(t, ts, ann); v != nil {
		t.Errorf("activeOrganizationId before any organization: %v", v)
	}
	r, org := ts.as(ann, "/api/auth/organization/create", `{"name":"Acme","slug":"acme","metadata":{"plan":"team"}}`)
	if r.status != http.StatusOK || org["slug"] != "acme" || fmt.Sprint(org["metadata"]) != "map[plan:team]" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	orgID := org["id"].(string)
	if members := org["members"].([]any); len(members) != 1 || members[0].(map[string]any)["role"] != "owner" {
		t.Errorf("create's members: %v", org["members"])
	}
	if v := activeOrg(t, ts, ann); v != orgID {
		t.Errorf("create did not make the organization active: %v", v)
	}
	if c := ts.tokenClaims(t, ann); c["org"] != orgID || c["org_role"] != "owner" {
		t.Errorf("owner's token: org %v org_role %v", c["org"], c["org_role"])
	}
	if c := ts.tokenClaims(t, bob); c["org"] != nil || c["org_role"] != nil {
		t.Errorf("a user without an active organization has org claims: %v %v", c["org"], c["org_role"])
	}
	r, _ = ts.as(ann, "/api/auth/organization/list", "")
	if !strings.Contains(string(r.body), `"metadata":"{\"plan\":\"team\"}"`) {
		t.Errorf("list answers metadata as the stored string in Better Auth: %s", r.body)
	}

	invID := invite(t, ts, outbox, ann, orgID, bob.email, "member")
	r, got := ts.as(bob, "/api/auth/organization/get-invitation?id="+invID, "")
	if r.status != http.StatusOK || got["organizationSlug"] != "acme" || got["inviterEmail"] != ann.email {
		t.Errorf("get-invitation: %d %s", r.status, r.body)
	}
	r, acc := ts.as(bob, "/api/auth/organization/accept-invitation", fmt.Sprintf(`{"invitationId":%q}`, invID))
	if r.status != http.StatusOK || acc["member"].(map[string]any)["role"] != "member" {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if v := activeOrg(t, ts, bob); v != orgID {
		t.Errorf("accept did not make the organization active: %v", v)
	}
	if c := ts.tokenClaims(t, bob); c["org"] != orgID || c["org_role"] != "member" {
		t.Errorf("member's token: %v %v", c["org"], c["org_role"])
	}
	r, list := ts.as(ann, "/api/auth/organization/list-members", "")
	if r.status != http.StatusOK || list["total"] != float64(2) {
		t.Errorf("list-members: %d %s", r.status, r.body)
	}
	bobMember := acc["member"].(map[string]any)["id"].(string)

	// Promote bob: the change is a member event, and bob's next token
	// (minted at once) carries the new role with an iat after the event's second.
	r, _ = ts.as(ann, "/api/auth/organization/update-member-role", fmt.Sprintf(`{"memberId":%q,"role":["admin"]}`, bobMember))
	if r.status != http.StatusOK {
		t.Fatalf("update-member-role: %d %s", r.status, r.body)
	}
	c := ts.tokenClaims(t, bob)
	if c["org_role"] != "admin" {
		t.Errorf("token after the promotion: org_role %v", c["org_role"])
	}
	var atMS int64
	if err := ts.db.QueryRow(context.Background(), `SELECT max(at_ms) FROM revocation_event WHERE kind = 'member' AND organization_id = $1`, orgID).Scan(&atMS); err != nil {
		t.Fatal(err)
	}
	if iat := int64(c["iat"].(float64)); iat <= atMS/1000 {
		t.Errorf("token iat %d is not after the second of the change (%d ms): resource servers would refuse it", iat, atMS)
	}
	r, role := ts.as(bob, "/api/auth/organization/get-active-member-role", "")
	if r.status != http.StatusOK || role["role"] != "admin" {
		t.Errorf("get-active-member-role: %d %s", r.status, r.body)
	}
	r, perm := ts.as(bob, "/api/auth/organization/has-permission", `{"permissions":{"member":["delete"]}}`)
	if r.status != http.StatusOK || perm["success"] != true {
		t.Errorf("admin has member:delete: %d %s", r.status, r.body)
	}
	r, perm = ts.as(bob, "/api/auth/organization/has-permission", `{"permissions":{"organization":["delete"]}}`)
	if r.status != http.StatusOK || perm["success"] != false {
		t.Errorf("admin has organization:delete: %d %s", r.status, r.body)
	}

	// Removing bob ends his organization claims and clears his active organization.
	r, _ = ts.as(ann, "/api/auth/organization/remove-member", fmt.Sprintf(`{"memberIdOrEmail":%q}`, bob.email))
	if r.status != http.StatusOK {
		t.Fatalf("remove-member: %d %s", r.status, r.body)
	}
	if v := activeOrg(t, ts, bob); v != nil {
		t.Errorf("removed bob still has %v active (Latch clears it)", v)
	}
	if c := ts.tokenClaims(t, bob); c["org"] != nil {
		t.Errorf("removed bob's token still names %v", c["org"])
	}

	r, _ = ts.as(ann, "/api/auth/organization/delete", fmt.Sprintf(`{"organizationId":%q}`, orgID))
	if r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if v := activeOrg(t, ts, ann); v != nil {
		t.Errorf("deleted organization still active: %v", v)
	}
	if n := ts.count(`SELECT count(*) FROM revocation_event WHERE kind = 'organization_deleted' AND subject = $1`, orgID); n != 1 {
		t.Errorf("%d organization_deleted events", n)
	}
	if n := ts.count(`SELECT count(*) FROM member WHERE organization_id = $1`, orgID); n != 0 {
		t.Errorf("%d members left", n)
	}
}

func TestOrganizationAttacks(t *testing.T) {
	t.Parallel()
	ts, outbox := startOrganizations(t, "two-factor,organization")
	owner, admin, member, outsider, other := signedUp(t, ts, "owner"), signedUp(t, ts, "admin"), signedUp(t, ts, "member"),
		signedUp(t, ts, "outsider"), signedUp(t, ts, "other")

	r := ts.post("/api/auth/organization/create", `{"name":"Acme","slug":"acme"}`, nil)
	if r.status != http.StatusUnauthorized || len(r.body) != 0 {
		t.Errorf("create signed out: %d %q, want a bare 401", r.status, r.body)
	}
	_, org := ts.as(owner, "/api/auth/organization/create", `{"name":"Acme","slug":"acme"}`)
	orgID := org["id"].(string)
	ownerMember := org["members"].([]any)[0].(map[string]any)["id"].(string)
	r, _ = ts.as(other, "/api/auth/organization/create", `{"name":"Acme again","slug":"acme"}`)
	expect(t, "taken slug", r, http.StatusBadRequest, "ORGANIZATION_ALREADY_EXISTS")
	_, otherOrg := ts.as(other, "/api/auth/organization/create", `{"name":"Other","slug":"other"}`)
	otherOrgID := otherOrg["id"].(string)
	_, om := ts.as(other, "/api/auth/organization/invite-member", fmt.Sprintf(`{"email":%q,"role":"member"}`, outsider.email))
	_, acc := ts.as(outsider, "/api/auth/organization/accept-invitation", fmt.Sprintf(`{"invitationId":%q}`, om["id"]))
	otherMember := acc["member"].(map[string]any)["id"].(string) // outsider, a member of the other organization

	for _, u := range []struct {
		who  orgUser
		role string
	}{{admin, "admin"}, {member, "member"}} {
		id := invite(t, ts, outbox, owner, orgID, u.who.email, u.role)
		// Another signed-in user holding the link is refused.
		r, _ = ts.as(outsider, "/api/auth/organization/accept-invitation", fmt.Sprintf(`{"invitationId":%q}`, id))
		expect(t, "accept someone else's invitation", r, http.StatusForbidden, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
		r, _ = ts.as(outsider, "/api/auth/organization/get-invitation?id="+id, "")
		expect(t, "read someone else's invitation", r, http.StatusForbidden, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
		r, _ = ts.as(u.who, "/api/auth/organization/accept-invitation", fmt.Sprintf(`{"invitationId":%q}`, id))
		if r.status != http.StatusOK {
			t.Fatalf("accept as %s: %d %s", u.role, r.status, r.body)
		}
	}
	_, me := ts.as(member, "/api/auth/organization/get-active-member", "")
	memberID := me["id"].(string)
	_, am := ts.as(admin, "/api/auth/organization/get-active-member", "")
	adminID := am["id"].(string)

	r, _ = ts.as(member, "/api/auth/organization/update-member-role", fmt.Sprintf(`{"memberId":%q,"role":"owner"}`, memberID))
	expect(t, "member makes themselves owner", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	r, _ = ts.as(member, "/api/auth/organization/update-member-role", fmt.Sprintf(`{"memberId":%q,"role":"admin"}`, memberID))
	expect(t, "member makes themselves admin", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	r, _ = ts.as(admin, "/api/auth/organization/update-member-role", fmt.Sprintf(`{"memberId":%q,"role":"member"}`, ownerMember))
	expect(t, "admin demotes the owner", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	r, _ = ts.as(admin, "/api/auth/organization/remove-member", fmt.Sprintf(`{"memberIdOrEmail":%q}`, ownerMember))
	expect(t, "admin removes the owner", r, http.StatusBadRequest, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
	r, _ = ts.as(member, "/api/auth/organization/remove-member", fmt.Sprintf(`{"memberIdOrEmail":%q}`, adminID))
	expect(t, "member removes the admin", r, http.StatusUnauthorized, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER")
	r, _ = ts.as(admin, "/api/auth/organization/delete", fmt.Sprintf(`{"organizationId":%q}`, orgID))
	expect(t, "admin deletes the organization", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION")
	if c := ts.tokenClaims(t, member); c["org_role"] != "member" {
		t.Errorf("the refused escalations changed the member's role: %v", c["org_role"])
	}

	// A non-member reads nothing of the organization.
	for _, path := range []string{
		"/api/auth/organization/get-full-organization?organizationId=" + orgID,
		"/api/auth/organization/get-organization?organizationId=" + orgID,
	} {
		r, _ = ts.as(other, path, "")
		expect(t, "outsider reads "+path, r, http.StatusForbidden, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	}
	r, _ = ts.as(other, "/api/auth/organization/list-members?organizationId="+orgID, "")
	expect(t, "outsider lists members", r, http.StatusForbidden, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
	r, _ = ts.as(other, "/api/auth/organization/list-invitations?organizationId="+orgID, "")
	expect(t, "outsider lists invitations", r, http.StatusForbidden, "")
	r, _ = ts.as(member, "/api/auth/organization/list-invitations", "")
	expect(t, "member lists invitations", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS")
	r, _ = ts.as(other, "/api/auth/organization/has-permission", fmt.Sprintf(`{"organizationId":%q,"permissions":{"ac":["read"]}}`, orgID))
	expect(t, "outsider has-permission", r, http.StatusUnauthorized, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	r, _ = ts.as(other, "/api/auth/organization/set-active", fmt.Sprintf(`{"organizationId":%q}`, orgID))
	expect(t, "outsider sets it active", r, http.StatusForbidden, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	if v := activeOrg(t, ts, other); v != nil {
		t.Errorf("after a refused set-active the outsider's active organization is %v (Better Auth clears it)", v)
	}
	if c := ts.tokenClaims(t, other); c["org"] != nil {
		t.Errorf("outsider's token names %v", c["org"])
	}

	// Ids of another organization in the body.
	r, _ = ts.as(owner, "/api/auth/organization/update-member-role", fmt.Sprintf(`{"memberId":%q,"role":"admin","organizationId":%q}`, otherMember, orgID))
	expect(t, "update a member of another organization", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	r, _ = ts.as(owner, "/api/auth/organization/remove-member", fmt.Sprintf(`{"memberIdOrEmail":%q,"organizationId":%q}`, otherMember, orgID))
	expect(t, "remove a member of another organization", r, http.StatusBadRequest, "MEMBER_NOT_FOUND")
	r, _ = ts.as(owner, "/api/auth/organization/update-member-role", fmt.Sprintf(`{"memberId":%q,"role":"admin","organizationId":%q}`, otherMember, otherOrgID))
	expect(t, "act in an organization one is not in", r, http.StatusBadRequest, "MEMBER_NOT_FOUND")
	r, _ = ts.as(owner, "/api/auth/organization/invite-member", fmt.Sprintf(`{"email":"z@example.com","role":"member","organizationId":%q}`, otherOrgID))
	expect(t, "invite into an organization one is not in", r, http.StatusBadRequest, "MEMBER_NOT_FOUND")
	_, pendingOther := ts.as(other, "/api/auth/organization/invite-member", fmt.Sprintf(`{"email":"z@example.com","role":"member","organizationId":%q}`, otherOrgID))
	r, _ = ts.as(owner, "/api/auth/organization/cancel-invitation", fmt.Sprintf(`{"invitationId":%q}`, pendingOther["id"]))
	expect(t, "cancel another organization's invitation", r, http.StatusBadRequest, "MEMBER_NOT_FOUND")
	if n := ts.count(`SELECT count(*) FROM invitation WHERE id = $1 AND status = 'pending'`, pendingOther["id"]); n != 1 {
		t.Error("another organization's invitation was cancelled")
	}
	r, _ = ts.as(owner, "/api/auth/organization/delete", fmt.Sprintf(`{"organizationId":%q}`, otherOrgID))
	expect(t, "delete an organization one is not in", r, http.StatusBadRequest, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	if n := ts.count(`SELECT count(*) FROM member WHERE id = $1 AND role = 'member'`, otherMember); n != 1 {
		t.Error("the other organization's member was changed")
	}

	// A cancelled invitation cannot be accepted.
	late := signedUp(t, ts, "late")
	id := invite(t, ts, outbox, owner, orgID, late.email, "member")
	r, _ = ts.as(member, "/api/auth/organization/cancel-invitation", fmt.Sprintf(`{"invitationId":%q}`, id))
	expect(t, "member cancels", r, http.StatusForbidden, "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION")
	r, _ = ts.as(admin, "/api/auth/organization/cancel-invitation", fmt.Sprintf(`{"invitationId":%q}`, id))
	if r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	r, _ = ts.as(late, "/api/auth/organization/accept-invitation", fmt.Sprintf(`{"invitationId":%q}`, id))
	expect(t, "accept a cancelled invitation", r, http.StatusBadRequest, "INVITATION_NOT_FOUND")
	// An expired one neither.
	id = invite(t, ts, outbox, owner, orgID, late.email, "member")
	if _, err := ts.db.Exec(context.Background(), `UPDATE invitation SET expires_at = now() - interval '1 minute' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	r, _ = ts.as(late, "/api/auth/organization/accept-invitation", fmt.Sprintf(`{"invitationId":%q}`, id))
	expect(t, "accept an expired invitation", r, http.StatusBadRequest, "INVITATION_NOT_FOUND")
	if n := ts.count(`SELECT count(*) FROM member WHERE organization_id = $1`, orgID); n != 3 {
		t.Errorf("%d members, want 3", n)
	}

	// Bad input: clear 4xx, nothing written.
	for _, body := range []string{`{"name":"","slug":"x"}`, `{"name":"X"}`, `{"name":"X","slug":"y","metadata":"text"}`, `[]`, `{"name":"X","slug":"a\u0000b"}`} {
		r, _ = ts.as(owner, "/api/auth/organization/create", body)
		expect(t, "create "+body, r, http.StatusBadRequest, "VALIDATION_ERROR")
	}
	if n := ts.count(`SELECT count(*) FROM organization`); n != 2 {
		t.Errorf("%d organizations after bad input, want 2", n)
	}
	r, _ = ts.as(owner, "/api/auth/organization/invite-member", `{"email":"x@example.com","role":"boss"}`)
	if r.status != http.StatusBadRequest || string(r.body) != `{"message":"ROLE_NOT_FOUND: boss"}` {
		t.Errorf("unknown role: %d %s", r.status, r.body)
	}
	r, _ = ts.as(owner, "/api/auth/organization/has-permission", `{"permissions":{"ac":["read"]},"permission":{"ac":["read"]}}`)
	expect(t, "both permission fields", r, http.StatusBadRequest, "VALIDATION_ERROR")
}

func TestOrganizationPluginOff(t *testing.T) {
	t.Parallel()
	ts, _ := startOrganizations(t, "")
	u := signedUp(t, ts, "ann")
	r, _ := ts.as(u, "/api/auth/organization/create", `{"name":"Acme","slug":"acme"}`)
	if r.status != http.StatusNotFound {
		t.Errorf("create with the plugin off: %d", r.status)
	}
	r = ts.get("/api/auth/get-session", u.h())
	if strings.Contains(string(r.body), "activeOrganizationId") {
		t.Errorf("get-session with the plugin off shows activeOrganizationId: %s", r.body)
	}
}

// TestSetActiveResendsTheCookie: Better Auth re-sends the session cookie on
// set-active; a client that stores it keeps working.
func TestSetActiveResendsTheCookie(t *testing.T) {
	t.Parallel()
	ts, _ := startOrganizations(t, "organization")
	u := signedUp(t, ts, "ann")
	_, org := ts.as(u, "/api/auth/organization/create", `{"name":"Acme","slug":"acme","keepCurrentActiveOrganization":true}`)
	if v := activeOrg(t, ts, u); v != nil {
		t.Errorf("keepCurrentActiveOrganization: active %v", v)
	}
	r, got := ts.as(u, "/api/auth/organization/set-active", fmt.Sprintf(`{"organizationSlug":%q}`, "acme"))
	if r.status != http.StatusOK || got["id"] != org["id"] || r.cookie("better-auth.session_token") == "" {
		t.Errorf("set-active: %d %s %v", r.status, r.body, r.header.Values("Set-Cookie"))
	}
	r, _ = ts.as(u, "/api/auth/organization/set-active", `{"organizationId":null}`)
	if r.status != http.StatusOK || string(r.body) != "null" {
		t.Errorf("unset: %d %s", r.status, r.body)
	}
	if v := activeOrg(t, ts, u); v != nil {
		t.Errorf("after unset: %v", v)
	}
	r, _ = ts.as(u, "/api/auth/organization/set-active", `{"organizationSlug":"nope"}`)
	expect(t, "unknown slug", r, http.StatusBadRequest, "ORGANIZATION_NOT_FOUND")
}
