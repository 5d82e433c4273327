package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/latchid/latch/pkg/revocation"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

// orgToken is user's token with org active and role there (org_role).
func (is *issuer) orgToken(user, org, role string) string {
	c := is.claims(user)
	c["org"], c["org_role"] = org, role
	return is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid}, c)
}

func idOf(m map[string]any) int64 { return int64(m["id"].(float64)) }

// The team rules end to end, each over REST and gRPC, with the same answer:
// members read the organization's tasks and change their own; admins and
// owners change any; another organization's task is 403, a missing one 404.
func TestTeamTasksOverRESTAndGRPC(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	ann, bob := is.orgToken("ann", "acme", "member"), is.orgToken("bob", "acme", "member")
	carl, dot := is.orgToken("carl", "acme", "admin"), is.orgToken("dot", "acme", "owner")
	eve := is.orgToken("eve", "globex", "owner")

	// Created with ?scope=organization, the active organization from the token.
	team := ts.call(ann, "POST", "/api/tasks?scope=organization", `{"title":"team"}`)
	if team.status != 201 || team.object(t)["organization_id"] != "acme" || team.object(t)["user_id"] != "ann" {
		t.Fatalf("create in organization scope: %d %s", team.status, team.body)
	}
	// An explicit organization_id naming the active one does the same, over gRPC too.
	if r := ts.call(bob, "POST", "/api/tasks", `{"title":"bob's","organization_id":"acme"}`); r.status != 201 || r.object(t)["organization_id"] != "acme" {
		t.Fatalf("create with organization_id: %d %s", r.status, r.body)
	}
	g, err := client.CreateTask(as(t, ann), &tasksv1.CreateTaskRequest{Title: "via grpc", Scope: tasksv1.TaskScope_TASK_SCOPE_ORGANIZATION})
	if err != nil || g.GetTask().GetOrganizationId() != "acme" || g.GetTask().GetUserId() != "ann" {
		t.Fatalf("gRPC create in organization scope: %v %v", g, err)
	}
	// Sending nothing keeps today's behaviour: a personal task, listed alone.
	own := ts.call(ann, "POST", "/api/tasks", `{"title":"own"}`)
	if own.status != 201 || own.object(t)["organization_id"] != nil {
		t.Fatalf("a personal create: %d %s", own.status, own.body)
	}
	if r := ts.call(ann, "GET", "/api/tasks", ""); r.status != 200 || r.header.Get("X-Total-Count") != "1" || !strings.Contains(string(r.body), `"own"`) {
		t.Fatalf("ann's default (personal) list: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/api/tasks?scope=organization", "/api/tasks?organization_id=acme"} {
		if r := ts.call(bob, "GET", path, ""); r.status != 200 || r.header.Get("X-Total-Count") != "3" {
			t.Fatalf("bob's %s: %d %s", path, r.status, r.body)
		}
	}
	if l, err := client.ListTasks(as(t, carl), &tasksv1.ListTasksRequest{Scope: tasksv1.TaskScope_TASK_SCOPE_ORGANIZATION}); err != nil || l.GetTotalCount() != 3 {
		t.Fatalf("gRPC organization list: %v %v", l, err)
	}

	id := idOf(team.object(t))
	type answer struct {
		status int
		code   codes.Code
	}
	okRead, okChange, forbidden := answer{200, codes.OK}, answer{200, codes.OK}, answer{403, codes.PermissionDenied}
	tests := []struct {
		name  string
		token string
		get   answer
		patch answer
	}{
		{"the creator (member)", ann, okRead, okChange},
		{"another member", bob, okRead, forbidden},
		{"an admin", carl, okRead, okChange},
		{"the owner", dot, okRead, okChange},
		{"another organization's owner", eve, forbidden, forbidden},
		{"the creator without an organization active", is.token("ann"), forbidden, forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.call(tc.token, "GET", fmt.Sprintf("/api/tasks/%d", id), "")
			_, err := client.GetTask(as(t, tc.token), &tasksv1.GetTaskRequest{Id: id})
			if r.status != tc.get.status || status.Code(err) != tc.get.code {
				t.Errorf("get: REST %d, gRPC %v; want %v", r.status, err, tc.get)
			}
			r = ts.call(tc.token, "PATCH", fmt.Sprintf("/api/tasks/%d", id), `{"title":"by `+tc.name+`"}`)
			_, err = client.UpdateTask(as(t, tc.token), &tasksv1.UpdateTaskRequest{Task: &tasksv1.Task{Id: id, Title: "g"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}})
			if r.status != tc.patch.status || status.Code(err) != tc.patch.code {
				t.Errorf("update: REST %d %s, gRPC %v; want %v", r.status, r.body, err, tc.patch)
			}
			r = ts.call(tc.token, "PATCH", fmt.Sprintf("/api/tasks/%d/complete", id), "")
			_, err = client.ToggleTask(as(t, tc.token), &tasksv1.ToggleTaskRequest{Id: id})
			if r.status != tc.patch.status || status.Code(err) != tc.patch.code {
				t.Errorf("toggle: REST %d, gRPC %v; want %v", r.status, err, tc.patch)
			}
		})
	}
	// Attack: a member deletes another member's task; refused on both, and it stays.
	bobsTask := ts.create(bob, `{"title":"bob's second","organization_id":"acme"}`)
	if r := ts.call(ann, "DELETE", fmt.Sprintf("/api/tasks/%d", idOf(bobsTask)), ""); r.status != 403 {
		t.Fatalf("a member deleting another's task over REST: %d %s", r.status, r.body)
	}
	_, err = client.DeleteTask(as(t, ann), &tasksv1.DeleteTaskRequest{Id: idOf(bobsTask)})
	wantCode(t, "a member deleting another's task over gRPC", err, codes.PermissionDenied)
	if r := ts.call(dot, "GET", fmt.Sprintf("/api/tasks/%d", idOf(bobsTask)), ""); r.status != 200 {
		t.Fatalf("bob's task after refused deletes: %d", r.status)
	}
	// ... which an admin may delete, and the creator may delete their own.
	if r := ts.call(carl, "DELETE", fmt.Sprintf("/api/tasks/%d", idOf(bobsTask)), ""); r.status != 204 {
		t.Fatalf("an admin deleting a member's task: %d %s", r.status, r.body)
	}
	if _, err := client.DeleteTask(as(t, ann), &tasksv1.DeleteTaskRequest{Id: g.GetTask().GetId()}); err != nil {
		t.Fatalf("the creator deleting their organization task: %v", err)
	}
	// A missing task is 404 for everyone, as for personal tasks.
	if r := ts.call(eve, "GET", "/api/tasks/99999999", ""); r.status != 404 {
		t.Errorf("a missing task: %d", r.status)
	}
}

// The cross-organization attacks: a user with organization X active and a
// client scoped to X reach nothing of Y, by id or by list, over either API.
func TestNoWayIntoAnotherOrganization(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	mallory := is.orgToken("mallory", "x", "owner")
	victim := ts.create(is.orgToken("vic", "y", "member"), `{"title":"y's secret","organization_id":"y"}`)
	id := idOf(victim)
	before := ts.rows()

	// A user token with X active: Y's task by id is 403, with or without naming Y.
	for _, path := range []string{"/api/tasks/%d", "/api/tasks/%d?organization_id=y", "/api/tasks/%d?scope=organization"} {
		if r := ts.call(mallory, "GET", fmt.Sprintf(path, id), ""); r.status != 403 || strings.Contains(string(r.body), "secret") {
			t.Errorf("GET %s: %d %s", fmt.Sprintf(path, id), r.status, r.body)
		}
	}
	_, err := client.GetTask(as(t, mallory), &tasksv1.GetTaskRequest{Id: id, OrganizationId: "y"})
	wantCode(t, "gRPC get naming y", err, codes.PermissionDenied)
	// ... Y's list: naming Y is refused; the organization list is X's.
	if r := ts.call(mallory, "GET", "/api/tasks?organization_id=y", ""); r.status != 403 {
		t.Errorf("listing y by name: %d %s", r.status, r.body)
	}
	if r := ts.call(mallory, "GET", "/api/tasks?scope=organization", ""); r.status != 200 || r.header.Get("X-Total-Count") != "0" {
		t.Errorf("mallory's organization list: %d %s", r.status, r.body)
	}
	_, err = client.ListTasks(as(t, mallory), &tasksv1.ListTasksRequest{OrganizationId: "y"})
	wantCode(t, "gRPC list naming y", err, codes.PermissionDenied)
	// ... nor create into Y, edit, toggle or delete there.
	if r := ts.call(mallory, "POST", "/api/tasks", `{"title":"planted","organization_id":"y"}`); r.status != 403 {
		t.Errorf("creating in y: %d %s", r.status, r.body)
	}
	if r := ts.call(mallory, "POST", "/api/tasks?organization_id=x", `{"title":"planted","organization_id":"y"}`); r.status != 422 {
		t.Errorf("query and body naming different organizations: %d %s", r.status, r.body)
	}
	for _, call := range [][2]string{{"PATCH", "/api/tasks/%d"}, {"PATCH", "/api/tasks/%d/complete"}, {"DELETE", "/api/tasks/%d"}} {
		if r := ts.call(mallory, call[0], fmt.Sprintf(call[1], id), `{"title":"owned"}`); r.status != 403 {
			t.Errorf("%s %s: %d", call[0], call[1], r.status)
		}
	}

	// A client scoped to X (read and write) cannot touch Y's tasks.
	xClient := is.serviceToken("x-sync", "tasks:read:org:x tasks:write:org:x")
	if r := ts.call(xClient, "GET", fmt.Sprintf("/api/tasks/%d?organization_id=x", id), ""); r.status != 403 {
		t.Errorf("x's client reading y's task as x: %d %s", r.status, r.body)
	}
	if r := ts.call(xClient, "GET", fmt.Sprintf("/api/tasks/%d?organization_id=y", id), ""); r.status != 403 || !strings.Contains(string(r.body), "tasks:read:org:y") {
		t.Errorf("x's client naming y: %d %s", r.status, r.body)
	}
	if r := ts.call(xClient, "GET", "/api/tasks?organization_id=y", ""); r.status != 403 {
		t.Errorf("x's client listing y: %d %s", r.status, r.body)
	}
	if r := ts.call(xClient, "DELETE", fmt.Sprintf("/api/tasks/%d?organization_id=x", id), ""); r.status != 403 {
		t.Errorf("x's client deleting y's task: %d %s", r.status, r.body)
	}
	_, err = client.DeleteTask(as(t, xClient), &tasksv1.DeleteTaskRequest{Id: id, OrganizationId: "y"})
	wantCode(t, "gRPC: x's client deleting in y", err, codes.PermissionDenied)
	_, err = client.CreateTask(as(t, xClient), &tasksv1.CreateTaskRequest{Title: "planted", OrganizationId: "y"})
	wantCode(t, "gRPC: x's client creating in y", err, codes.PermissionDenied)
	// Nor Y's members' personal tasks, naming the user (tasks:read is another scope).
	if r := ts.call(xClient, "GET", "/api/tasks?user_id=vic", ""); r.status != 403 {
		t.Errorf("x's client listing vic's personal tasks: %d %s", r.status, r.body)
	}
	if n := ts.rows(); n != before {
		t.Fatalf("%d rows after refused calls, want %d", n, before)
	}
	// What it may do: its own organization, as an admin would.
	made := ts.call(xClient, "POST", "/api/tasks?organization_id=x", `{"title":"synced"}`)
	if made.status != 201 || made.object(t)["user_id"] != "client:x-sync" || made.object(t)["organization_id"] != "x" {
		t.Fatalf("x's client creating in x: %d %s", made.status, made.body)
	}
	if r := ts.call(mallory, "DELETE", fmt.Sprintf("/api/tasks/%d", idOf(made.object(t))), ""); r.status != 204 {
		t.Errorf("x's owner deleting the client's task: %d", r.status)
	}

	// A forged org_role: mallory, member of y, signs herself owner of y with
	// a key of her own, or sends the claims unsigned. authn refuses both
	// before any rule runs.
	c := is.claims("mallory")
	c["org"], c["org_role"] = "y", "owner"
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	input := b64(map[string]any{"alg": "EdDSA", "kid": is.kid}) + "." + b64(c)
	forged := input + "." + b64(ed25519.Sign(foreign, []byte(input)))
	unsigned := b64(map[string]any{"alg": "none", "kid": is.kid}) + "." + b64(c) + "."
	for name, tok := range map[string]string{"signed with a foreign key": forged, "unsigned": unsigned} {
		if r := ts.call(tok, "DELETE", fmt.Sprintf("/api/tasks/%d", id), ""); r.status != 401 {
			t.Errorf("a forged owner token %s: %d %s", name, r.status, r.body)
		}
		_, err := client.DeleteTask(as(t, tok), &tasksv1.DeleteTaskRequest{Id: id})
		wantCode(t, "gRPC forged owner "+name, err, codes.Unauthenticated)
	}
	if r := ts.call(is.orgToken("vic", "y", "member"), "GET", fmt.Sprintf("/api/tasks/%d", id), ""); r.status != 200 {
		t.Fatalf("y's task after every attack: %d", r.status)
	}
}

// A deleted organization's tasks go through the feed; its members' personal
// tasks stay, and a removed member's tasks stay with the organization.
func TestADeletedOrganizationsTasksAreDeletedFromTheFeed(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ts.app.eraser.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ann := is.orgToken("ann", "gone", "owner")
	for range 3 {
		ts.create(ann, `{"title":"team","tags":["x"],"organization_id":"gone"}`)
	}
	ts.create(ann, `{"title":"own"}`)
	kept := ts.create(is.orgToken("bob", "stays", "member"), `{"title":"kept","organization_id":"stays"}`)
	is.revoke(revocation.KindMember, "bob") // bob removed from "stays": his task stays
	is.revoke(revocation.KindOrganizationDeleted, "gone")
	deadline := time.Now().Add(2 * time.Second)
	for ts.rows() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d task rows left, want ann's own and the other organization's", ts.rows())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var tags int
	_ = ts.db.QueryRow(context.Background(), "SELECT count(*) FROM task_tags").Scan(&tags)
	if tags != 0 {
		t.Errorf("%d tags left", tags)
	}
	if r := ts.call(is.orgToken("carl", "stays", "admin"), "GET", fmt.Sprintf("/api/tasks/%d", idOf(kept)), ""); r.status != 200 {
		t.Errorf("the removed member's task: %d", r.status)
	}
	if r := ts.call(is.token("ann"), "GET", "/api/tasks?"+url.Values{"scope": {"personal"}}.Encode(), ""); r.header.Get("X-Total-Count") != "1" {
		t.Errorf("ann's personal tasks after her organization's deletion: %s", r.body)
	}
}
