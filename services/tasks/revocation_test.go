package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"

	"github.com/latchid/latch/pkg/revocation"
)

// sessionToken is user's token of session sid, issued at iat.
func (is *issuer) sessionToken(user, sid string, iat time.Time) string {
	c := is.claims(user)
	c["sid"], c["jti"], c["iat"] = sid, "jti-"+sid, iat.Unix()
	return is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid}, c)
}

// refusedWithin waits until the token is refused over REST (401) and gRPC
// (UNAUTHENTICATED), and returns how long it took.
func refusedWithin(t *testing.T, ts *tasksServer, client tasksv1.TasksServiceClient, token, user string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	restDone, grpcDone := false, false
	for !(restDone && grpcDone) {
		if time.Since(start) > limit {
			t.Fatalf("token not refused within %v (REST %v, gRPC %v)", limit, restDone, grpcDone)
		}
		if !restDone {
			if r := ts.call(token, "GET", "/api/tasks?user_id="+user, ""); r.status == 401 {
				restDone = true
				if !strings.Contains(string(r.body), "Token revoked") {
					t.Errorf("REST 401 body %s", r.body)
				}
			}
		}
		if !grpcDone {
			_, err := client.ListTasks(as(t, token), &tasksv1.ListTasksRequest{UserId: user})
			grpcDone = status.Code(err) == codes.Unauthenticated
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestEachRevocationKindIsRefusedOverRESTAndGRPCWithinASecond(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	now := time.Now()
	live := is.sessionToken("ann", "ann-live", now)
	cases := []struct {
		kind, subject string
		token, user   string
	}{
		{revocation.KindSession, "ann-s1", is.sessionToken("ann", "ann-s1", now), "ann"},
		{revocation.KindUser, "bob", is.sessionToken("bob", "bob-s1", now.Add(-2*time.Second)), "bob"},
		{revocation.KindUserDeleted, "cid", is.sessionToken("cid", "cid-s1", now), "cid"},
		{revocation.KindClient, "svc-1", is.serviceToken("svc-1", "tasks:read"), "ann"},
	}
	for _, c := range cases {
		// Twice: the second is answered from the verifier's cache of
		// accepted tokens, which must not outlive the revocation.
		for range 2 {
			if r := ts.call(c.token, "GET", "/api/tasks?user_id="+c.user, ""); r.status != 200 {
				t.Fatalf("%s before revocation: %d %s", c.kind, r.status, r.body)
			}
		}
		is.revoke(c.kind, c.subject)
		took := refusedWithin(t, ts, client, c.token, c.user, time.Second)
		t.Logf("%s: refused at REST and gRPC %v after the event", c.kind, took)
	}
	if r := ts.call(live, "GET", "/api/tasks", ""); r.status != 200 {
		t.Errorf("another live session of a user with a revoked one: %d %s", r.status, r.body)
	}
	if _, err := client.ListTasks(as(t, live), &tasksv1.ListTasksRequest{}); err != nil {
		t.Errorf("gRPC with a live session: %v", err)
	}
	fresh := is.sessionToken("bob", "bob-s2", time.Now().Add(time.Second))
	if r := ts.call(fresh, "GET", "/api/tasks", ""); r.status != 200 {
		t.Errorf("bob's token issued after the user revocation: %d %s", r.status, r.body)
	}
}

func TestADeletedUsersTasksAreDeletedFromTheFeed(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ts.app.eraser.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	gone, stays := is.sessionToken("gone", "g1", time.Now()), is.sessionToken("stays", "s1", time.Now())
	for range 3 {
		ts.create(gone, `{"title":"mine","tags":["x"]}`)
	}
	ts.create(stays, `{"title":"kept"}`)
	is.revoke(revocation.KindUserDeleted, "gone")
	deadline := time.Now().Add(2 * time.Second)
	for ts.rows() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d task rows left, want only the other user's", ts.rows())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var tags int
	_ = ts.db.QueryRow(context.Background(), "SELECT count(*) FROM task_tags").Scan(&tags)
	if tags != 0 {
		t.Errorf("%d tags left", tags)
	}
	is.revoke(revocation.KindUserDeleted, "gone") // again: nothing more to do, no error
	time.Sleep(200 * time.Millisecond)
	if ts.rows() != 1 || ts.app.eraser.Failures.Load() != 0 || ts.app.eraser.Pending() != 0 {
		t.Errorf("after a repeated deletion: rows %d, failures %d, pending %d", ts.rows(), ts.app.eraser.Failures.Load(), ts.app.eraser.Pending())
	}
}

func TestAFeedUnreachablePastTheBoundRefusesTokensWith503AndReadyzSaysSo(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, map[string]string{"REVOCATION_MAX_STALE": "1s", "REVOCATION_FEED_URL": is.jwks.URL + "/down/revocations"})
	token := is.sessionToken("ann", "a1", time.Now())
	// The feed never answered: the deny set is unknown, so nothing is accepted.
	r := ts.call(token, "GET", "/api/tasks", "")
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("with no answer from the feed: %d %s, want 503 with Retry-After", r.status, r.body)
	}
	if r := ts.call("", "GET", "/readyz", ""); r.status != 503 || !strings.Contains(string(r.body), `"revocations"`) {
		t.Errorf("/readyz: %d %s, want 503 naming revocations", r.status, r.body)
	}
	client, _ := ts.grpcClient()
	_, err := client.ListTasks(as(t, token), &tasksv1.ListTasksRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC with no answer from the feed: %v, want UNAVAILABLE", err)
	}
}
