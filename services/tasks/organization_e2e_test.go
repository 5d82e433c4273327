package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

// call sends a request with a Bearer token or a cookie (and the Origin a
// cookie write needs at the gateway) and returns the status and body.
func call(method, url, token, cookie, origin, body string) (int, []byte) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := readAll(resp)
	return resp.StatusCode, b
}

// claimsOf decodes a JWT's payload (the token was verified where it matters).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	var c map[string]any
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64URL(parts[1])
	if err != nil || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("payload of %q: %v", jwt, err)
	}
	return c
}

// The whole chain with the real services: an owner demotes an admin at
// auth; the admin's token that says org_role=admin, still unexpired, is
// refused at every tasks replica (REST and gRPC) within the bound, and
// through the gateway (which swaps the cookie's cached token for a fresh
// one) the admin's edit of another member's task turns into 403 within
// the bound, while reading still works: demoted, not signed out.
func TestADemotionReachesEveryReplicaAndTheGatewayWithinASecond(t *testing.T) {
	t.Parallel()
	c := startClusterWith(t, map[string]string{"AUTH_PLUGINS": "organization"})
	ann := c.signUp("ann-demote@example.com")
	resp, body := c.post("/api/auth/organization/create", ann.cookie, `{"name":"Acme","slug":"acme-demote"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("create organization: %d %s", resp.StatusCode, body)
	}
	var org struct{ ID string }
	_ = json.Unmarshal(body, &org)
	resp, body = c.post("/api/auth/organization/invite-member", ann.cookie, `{"email":"bob-demote@example.com","role":"admin"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("invite: %d %s", resp.StatusCode, body)
	}
	var inv struct{ ID string }
	_ = json.Unmarshal(body, &inv)
	bob := c.signUp("bob-demote@example.com")
	resp, body = c.post("/api/auth/organization/accept-invitation", bob.cookie, fmt.Sprintf(`{"invitationId":%q}`, inv.ID))
	if resp.StatusCode != 200 {
		t.Fatalf("accept: %d %s", resp.StatusCode, body)
	}
	var accepted struct{ Member struct{ ID string } }
	_ = json.Unmarshal(body, &accepted)

	// ann's organization task, which an admin may edit and a member may not.
	created, body := call("POST", c.tasks[0].base+"/api/tasks?scope=organization", c.jwt(ann.cookie), "", "", `{"title":"ann's team task"}`)
	if created != 201 {
		t.Fatalf("create the organization task: %d %s", created, body)
	}
	var task struct {
		ID             int64
		OrganizationID *string `json:"organization_id"`
	}
	_ = json.Unmarshal(body, &task)
	if task.OrganizationID == nil || *task.OrganizationID != org.ID {
		t.Fatalf("task %s is not the organization's", body)
	}
	taskPath := fmt.Sprintf("/api/tasks/%d", task.ID)

	adminJWT := c.jwt(bob.cookie)
	if cl := claimsOf(t, adminJWT); cl["org"] != org.ID || cl["org_role"] != "admin" {
		t.Fatalf("bob's token before the demotion: org %v role %v", cl["org"], cl["org_role"])
	}
	edit := `{"description":"edited by an admin"}`
	rest := func(base string) func() bool {
		return func() bool { s, _ := call("GET", base+taskPath, adminJWT, "", "", ""); return s == 200 }
	}
	grpcGet := func(rpc tasksv1.TasksServiceClient) func() bool {
		return func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := rpc.GetTask(metadataCtx(ctx, adminJWT), &tasksv1.GetTaskRequest{Id: task.ID})
			return status.Code(err) == codes.OK
		}
	}
	// Through the gateway the cookie stays good: what changes is the right to edit.
	gatewayEdit := func() bool {
		s, _ := call("PATCH", c.gateway+taskPath, "", bob.cookie, c.gateway, edit)
		return s == 200
	}
	var probes []probe
	for i, r := range c.tasks {
		probes = append(probes, probe{fmt.Sprintf("tasks-%d REST", i+1), rest(r.base)}, probe{fmt.Sprintf("tasks-%d gRPC", i+1), grpcGet(r.rpc)})
	}
	probes = append(probes, probe{"gateway edit (cookie)", gatewayEdit})
	for _, p := range probes {
		if !p.ok() {
			t.Fatalf("before the demotion: refused at %s", p.name)
		}
	}
	if _, err := c.tasks[1].rpc.UpdateTask(metadataCtx(context.Background(), adminJWT), &tasksv1.UpdateTaskRequest{
		Task: &tasksv1.Task{Id: task.ID, Description: proto.String("edited over gRPC")}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	}); err != nil {
		t.Fatalf("the admin's gRPC edit before the demotion: %v", err)
	}

	resp, body = c.post("/api/auth/organization/update-member-role", ann.cookie,
		fmt.Sprintf(`{"memberId":%q,"role":"member","organizationId":%q}`, accepted.Member.ID, org.ID))
	if resp.StatusCode != 200 {
		t.Fatalf("demote: %d %s", resp.StatusCode, body)
	}
	demotedAt := time.Now()

	took := make([]time.Duration, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() {
			for time.Since(demotedAt) < 3*revocationBound {
				// Measured at the start of the first refused request: the
				// gateway's answer to it may wait for auth's same-second
				// rule (docs/organizations.md), but no request sent from
				// then on is served with the old role.
				sent := time.Now()
				if !p.ok() {
					took[i] = sent.Sub(demotedAt)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
			took[i] = -1
		})
	}
	wg.Wait()
	for i, d := range took {
		switch {
		case d < 0:
			t.Errorf("the admin's right still held at %s %v after the demotion", probes[i].name, 3*revocationBound)
		case d > revocationBound:
			t.Errorf("refused at %s only %v after the demotion, bound %v", probes[i].name, d, revocationBound)
		default:
			t.Logf("%s: refused %v after the demotion", probes[i].name, d.Round(time.Millisecond))
		}
	}

	// What is refused is the old role, not bob: the old token is 401, the
	// gateway's edit 403, and a fresh token says member and reads.
	if s, _ := call("GET", c.tasks[2].base+taskPath, adminJWT, "", "", ""); s != http.StatusUnauthorized {
		t.Errorf("the old admin token after the demotion: %d, want 401", s)
	}
	if s, b := call("PATCH", c.gateway+taskPath, "", bob.cookie, c.gateway, edit); s != http.StatusForbidden {
		t.Errorf("the demoted admin's edit through the gateway: %d %s, want 403", s, b)
	}
	memberJWT := c.jwt(bob.cookie)
	if cl := claimsOf(t, memberJWT); cl["org"] != org.ID || cl["org_role"] != "member" {
		t.Errorf("bob's token after the demotion: org %v role %v", cl["org"], cl["org_role"])
	}
	if s, b := call("GET", c.tasks[0].base+taskPath, memberJWT, "", "", ""); s != 200 {
		t.Errorf("the member reads the organization's task: %d %s", s, b)
	}
	if s, b := call("DELETE", c.tasks[0].base+taskPath, memberJWT, "", "", ""); s != http.StatusForbidden {
		t.Errorf("the member deletes another's task: %d %s, want 403", s, b)
	}
	if s, _ := call("GET", c.gateway+taskPath, "", bob.cookie, c.gateway, ""); s != 200 {
		t.Errorf("the demoted member reads through the gateway: %d", s)
	}
}
