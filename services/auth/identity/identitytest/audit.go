package identitytest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
)

// auditTests are the audit trail's part of the suite.
var auditTests = []struct {
	name string
	run  func(t *testing.T, s identity.Store)
}{
	{"AuditEventsRoundTripAndCommitWithTheChange", testAuditRoundTrip},
	{"AuditEventsRollBackWithAFailedChange", testAuditRollsBack},
	{"AFailedAuditInsertRollsTheChangeBack", testAuditFailureRollsBackChange},
	{"SessionEndingByTokenRecordsOnlyWhatEnded", testAuditEndingOne},
	{"AuditQueriesAreScopedNewestFirst", testAuditQuery},
}

func event(t audit.Type, userID string, at time.Time) audit.Event {
	return audit.Event{ID: identity.NewID(), Type: t, UserID: userID, CreatedAt: at}
}

func events(t *testing.T, s identity.Store, userID string) []audit.Event {
	t.Helper()
	got, err := s.AuditEvents(context.Background(), audit.Query{UserID: userID, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testAuditRoundTrip(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u, a := newUser("audit@example.com")
	want := audit.Event{
		ID: identity.NewID(), Type: audit.SignUp, UserID: u.ID, ActorID: "actor-1",
		IPAddress: "203.0.113.7", UserAgent: "test/1.0 (ünïcode)", RequestID: "req-1",
		Detail: map[string]string{audit.DetailProvider: "credential"}, CreatedAt: t0,
	}
	if err := s.CreateUser(ctx, u, a, want); err != nil {
		t.Fatal(err)
	}
	got := events(t, s, u.ID)
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("events = %+v, want [%+v]", got, want)
	}

	// Each kind of change writes the events it is given.
	sess := newSession(u.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, sess, event(audit.SignIn, u.ID, t0.Add(1*time.Second))); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{EmailVerified: &yes}, t0, event(audit.EmailVerified, u.ID, t0.Add(2*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, a.ID, "new-hash", t0, nil, event(audit.PasswordChanged, u.ID, t0.Add(3*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOtherSessions(ctx, u.ID, sess.Token, event(audit.SessionRevoked, u.ID, t0.Add(4*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(ctx, u.ID, event(audit.SessionRevoked, u.ID, t0.Add(5*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVerification(ctx, identity.Verification{ID: identity.NewID(), Identifier: identity.ResetTokenPrefix + "tok", Value: u.ID, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, identity.ResetTokenPrefix+"tok", u.ID, "hash-2", t0, true, event(audit.PasswordReset, u.ID, t0.Add(6*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAudit(ctx, event(audit.SignInFailed, u.ID, t0.Add(7*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID, event(audit.AccountDeleted, u.ID, t0.Add(8*time.Second))); err != nil {
		t.Fatal(err)
	}
	var types []audit.Type
	for _, e := range events(t, s, u.ID) {
		types = append(types, e.Type)
	}
	wantTypes := []audit.Type{audit.AccountDeleted, audit.SignInFailed, audit.PasswordReset, audit.SessionRevoked, audit.SessionRevoked,
		audit.PasswordChanged, audit.EmailVerified, audit.SignIn, audit.SignUp}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("types = %v, want %v (an account's events outlive it)", types, wantTypes)
	}
}

// A change that fails writes no event: the trail never claims it.
func testAuditRollsBack(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "taken@example.com")
	dup, a := newUser("taken@example.com")
	if err := s.CreateUser(ctx, dup, a, event(audit.SignUp, dup.ID, t0)); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("duplicate CreateUser = %v, want ErrConflict", err)
	}
	if got := events(t, s, dup.ID); len(got) != 0 {
		t.Errorf("a refused sign-up left events %+v", got)
	}
	other := mustCreate(t, s, "other@example.com")
	if _, err := s.UpdateUser(ctx, other.ID, identity.UserPatch{Email: &u.Email}, t0, event(audit.EmailChanged, other.ID, t0)); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("UpdateUser to a taken address = %v, want ErrConflict", err)
	}
	if err := s.ResetPassword(ctx, identity.ResetTokenPrefix+"none", other.ID, "h", t0, true, event(audit.PasswordReset, other.ID, t0)); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("ResetPassword with no token = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "no-such-user", event(audit.AccountDeleted, "no-such-user", t0)); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("DeleteUser of nobody = %v, want ErrNotFound", err)
	}
	for _, id := range []string{other.ID, "no-such-user"} {
		if got := events(t, s, id); len(got) != 0 {
			t.Errorf("failed changes left events %+v", got)
		}
	}
}

// The other direction: when the audit insert fails (here, an id already
// taken), the change it records rolls back with it.
func testAuditFailureRollsBackChange(t *testing.T, s identity.Store) {
	ctx := context.Background()
	first := event(audit.SignUp, "", t0)
	u, a := newUser("first@example.com")
	first.UserID = u.ID
	if err := s.CreateUser(ctx, u, a, first); err != nil {
		t.Fatal(err)
	}
	clash := first // same id
	clash.Type = audit.SignIn
	sess := newSession(u.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, sess, clash); err == nil {
		t.Fatal("CreateSession with a clashing audit id succeeded")
	}
	if _, _, err := s.SessionByToken(ctx, sess.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the session survived its failed audit insert: %v", err)
	}
	v, b := newUser("second@example.com")
	if err := s.CreateUser(ctx, v, b, clash); err == nil {
		t.Fatal("CreateUser with a clashing audit id succeeded")
	}
	if _, err := s.UserByEmail(ctx, "second@example.com"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the user survived its failed audit insert: %v", err)
	}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID, clash); err == nil {
		t.Fatal("DeleteUser with a clashing audit id succeeded")
	}
	if _, _, err := s.SessionByToken(ctx, sess.Token); err != nil {
		t.Errorf("DeleteUser's failed audit insert left the session deleted: %v", err)
	}
	if got := events(t, s, u.ID); len(got) != 1 || got[0].Type != audit.SignUp {
		t.Errorf("events = %+v, want the sign-up alone", got)
	}
}

// Sign-out and revoking one session name a token; their event is written
// only when a session ended, with its user and id (never the token).
func testAuditEndingOne(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "ending@example.com")
	other := mustCreate(t, s, "victim@example.com")
	sess := newSession(u.ID, t0.Add(time.Hour))
	theirs := newSession(other.ID, t0.Add(time.Hour))
	for _, x := range []identity.Session{sess, theirs} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSession(ctx, "no-such-token", event(audit.SignOut, "", t0)); err != nil {
		t.Fatal(err)
	}
	// u revokes a token that is not theirs: nothing ends, nothing is recorded.
	if err := s.DeleteUserSession(ctx, u.ID, theirs.Token, event(audit.SessionRevoked, u.ID, t0)); err != nil {
		t.Fatal(err)
	}
	if got := events(t, s, u.ID); len(got) != 0 {
		t.Errorf("ending nothing recorded %+v", got)
	}
	if err := s.DeleteSession(ctx, sess.Token, event(audit.SignOut, "", t0)); err != nil {
		t.Fatal(err)
	}
	got := events(t, s, u.ID)
	if len(got) != 1 || got[0].Type != audit.SignOut || got[0].Detail[audit.DetailSessionID] != sess.ID {
		t.Fatalf("sign-out events = %+v, want one naming session %s", got, sess.ID)
	}
	for _, v := range got[0].Detail {
		if v == sess.Token {
			t.Errorf("the session token is in the trail: %+v", got[0])
		}
	}
	if err := s.DeleteUserSession(ctx, other.ID, theirs.Token, event(audit.SessionRevoked, other.ID, t0)); err != nil {
		t.Fatal(err)
	}
	if got := events(t, s, other.ID); len(got) != 1 || got[0].Detail[audit.DetailSessionID] != theirs.ID {
		t.Errorf("revoke-session events = %+v", got)
	}
}

func testAuditQuery(t *testing.T, s identity.Store) {
	ctx := context.Background()
	ann, bob := identity.NewID(), identity.NewID()
	var all []audit.Event
	for i, typ := range []audit.Type{audit.SignUp, audit.SignIn, audit.SignInFailed, audit.SignIn, audit.SignOut} {
		all = append(all, event(typ, ann, t0.Add(time.Duration(i)*time.Hour)))
	}
	all = append(all, event(audit.SignIn, bob, t0.Add(10*time.Hour)), event(audit.SignInFailed, "", t0.Add(11*time.Hour)))
	if err := s.RecordAudit(ctx, all...); err != nil {
		t.Fatal(err)
	}
	list := func(q audit.Query) []audit.Type {
		t.Helper()
		got, err := s.AuditEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []audit.Type
		for _, e := range got {
			if e.UserID != q.UserID && !q.AllUsers {
				t.Errorf("query for %q answered %+v", q.UserID, e)
			}
			out = append(out, e.Type)
		}
		return out
	}
	cases := []struct {
		q    audit.Query
		want []audit.Type
	}{
		{audit.Query{UserID: ann, Limit: 100}, []audit.Type{audit.SignOut, audit.SignIn, audit.SignInFailed, audit.SignIn, audit.SignUp}},
		{audit.Query{UserID: ann, Limit: 2}, []audit.Type{audit.SignOut, audit.SignIn}},
		{audit.Query{UserID: ann, Limit: 100, Since: t0.Add(3 * time.Hour)}, []audit.Type{audit.SignOut, audit.SignIn}},
		{audit.Query{UserID: ann, Limit: 100, Types: []audit.Type{audit.SignIn, audit.SignUp}}, []audit.Type{audit.SignIn, audit.SignIn, audit.SignUp}},
		{audit.Query{UserID: bob, Limit: 100}, []audit.Type{audit.SignIn}},
		{audit.Query{AllUsers: true, Limit: 100, Since: t0.Add(4 * time.Hour)}, []audit.Type{audit.SignInFailed, audit.SignIn, audit.SignOut}},
	}
	for _, c := range cases {
		if got := list(c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.q, got, c.want)
		}
	}
}
