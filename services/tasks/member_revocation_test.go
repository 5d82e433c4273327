package main

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"

	"github.com/latchid/latch/pkg/revocation"
)

// sessionOrgToken is user's token of session sid naming org with role, issued at iat.
func (is *issuer) sessionOrgToken(user, sid, org, role string, iat time.Time) string {
	c := is.claims(user)
	c["sid"], c["jti"], c["iat"] = sid, "jti-"+sid+"-"+role, iat.Unix()
	if org != "" {
		c["org"], c["org_role"] = org, role
	}
	return is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid}, c)
}

// revokeEvent puts an event on the stand-in feed; it returns its at.
func (is *issuer) revokeEvent(e revocation.Event) time.Time {
	is.mu.Lock()
	defer is.mu.Unlock()
	e.ID = int64(len(is.revoked) + 1)
	e.At = time.Now()
	e.Until = e.At.Add(16 * time.Minute)
	is.revoked = append(is.revoked, e)
	close(is.changed)
	is.changed = make(chan struct{})
	return e.At
}

// Attack: an admin demoted at auth still holds a token saying
// org_role=admin, valid for minutes. Every tasks replica (REST and gRPC;
// nothing in tasks but pkg/authn's deny-set check is involved) refuses it
// within the bound of the member event, and keeps accepting the user's
// tokens of other organizations or none, another member's token of the
// organization, and the token auth mints after the change.
func TestAMemberEventRefusesTheOldRolesTokenAtEveryReplicaWithinASecond(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	replicas := []*tasksServer{startTasks(t, is, nil), startTasks(t, is, nil)}
	before := time.Now().Add(-time.Minute)
	admin := is.sessionOrgToken("ann", "ann-1", "org-x", "admin", before)
	kept := []struct{ what, token, user string }{
		{"ann's token for another organization", is.sessionOrgToken("ann", "ann-2", "org-y", "owner", before), "ann"},
		{"ann's token naming no organization", is.sessionOrgToken("ann", "ann-3", "", "", before), "ann"},
		{"bob's token for the same organization", is.sessionOrgToken("bob", "bob-1", "org-x", "admin", before), "bob"},
	}
	check := func(what, token, user string) {
		t.Helper()
		for i, ts := range replicas {
			client, _ := ts.grpcClient()
			if r := ts.call(token, "GET", "/api/tasks?user_id="+user, ""); r.status != 200 {
				t.Errorf("replica %d, %s over REST: %d %s", i, what, r.status, r.body)
			}
			if _, err := client.ListTasks(as(t, token), &tasksv1.ListTasksRequest{UserId: user}); err != nil {
				t.Errorf("replica %d, %s over gRPC: %v", i, what, err)
			}
		}
	}
	check("the admin token before the change", admin, "ann")
	check("the admin token before the change, remembered", admin, "ann")
	for _, k := range kept {
		check(k.what, k.token, k.user)
	}

	at := is.revokeEvent(revocation.Event{Kind: revocation.KindMember, Subject: "ann", OrganizationID: "org-x"})
	for i, ts := range replicas {
		client, _ := ts.grpcClient()
		took := refusedWithin(t, ts, client, admin, "ann", time.Second)
		t.Logf("replica %d refused the demoted admin's token over REST and gRPC %v after the event", i, took)
	}
	for _, k := range kept {
		check(k.what+" after ann's change in org-x", k.token, k.user)
	}
	// Auth mints ann's next org-x token (role member) from the next second.
	member := is.sessionOrgToken("ann", "ann-1", "org-x", "member", at.Truncate(time.Second).Add(time.Second))
	check("the token minted after the change", member, "ann")
	sameSecond := is.sessionOrgToken("ann", "ann-1", "org-x", "admin", at)
	for i, ts := range replicas {
		if r := ts.call(sameSecond, "GET", "/api/tasks?user_id=ann", ""); r.status != 401 {
			t.Errorf("replica %d: a token of the change's own second: %d, want 401", i, r.status)
		}
	}
}

func TestADeletedOrganizationsTokensAreRefusedAtEveryReplica(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	replicas := []*tasksServer{startTasks(t, is, nil), startTasks(t, is, nil)}
	owner := is.sessionOrgToken("ann", "ann-1", "org-x", "owner", time.Now())
	other := is.sessionOrgToken("ann", "ann-2", "org-y", "owner", time.Now())
	is.revokeEvent(revocation.Event{Kind: revocation.KindOrganizationDeleted, Subject: "org-x"})
	for i, ts := range replicas {
		client, _ := ts.grpcClient()
		refusedWithin(t, ts, client, owner, "ann", time.Second)
		if r := ts.call(other, "GET", "/api/tasks?user_id=ann", ""); r.status != 200 {
			t.Errorf("replica %d: another organization's token: %d %s", i, r.status, r.body)
		}
		_, err := client.ListTasks(as(t, other), &tasksv1.ListTasksRequest{UserId: "ann"})
		if status.Code(err) != codes.OK {
			t.Errorf("replica %d: another organization's token over gRPC: %v", i, err)
		}
	}
}
