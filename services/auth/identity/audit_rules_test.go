package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/requestid"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
)

func (f *fixture) events(t *testing.T, userID string) []audit.Event {
	t.Helper()
	got, err := f.store.AuditEvents(t.Context(), audit.Query{UserID: userID, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Which event each sign-in outcome records, at the service's clock, with
// the request's metadata.
func TestSignInEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	ann, _ := f.signUp(t, "ann@example.com", true)
	f.clock.Advance(time.Minute)
	ctx := requestid.With(identity.WithClient(t.Context(), identity.Client{IPAddress: "203.0.113.5", UserAgent: "ctx-agent"}), "req-42")

	tests := []struct {
		name     string
		email    string
		password string
		client   identity.Client
		wantErr  error
		wantType audit.Type
		wantUser string
		detail   map[string]string
		ip, ua   string
	}{
		{"right password", "Ann@Example.com", pw, identity.Client{IPAddress: "198.51.100.1", UserAgent: "given"}, nil, audit.SignIn, ann.ID,
			map[string]string{"method": "email"}, "198.51.100.1", "given"},
		{"wrong password", "ann@example.com", "not the password", identity.Client{}, identity.ErrInvalidCredentials, audit.SignInFailed, ann.ID,
			map[string]string{"method": "email", "reason": "invalid-credentials"}, "203.0.113.5", "ctx-agent"},
		{"unknown address", "nobody@example.com", pw, identity.Client{}, identity.ErrInvalidCredentials, audit.SignInFailed, "",
			map[string]string{"method": "email", "reason": "invalid-credentials"}, "203.0.113.5", "ctx-agent"},
	}
	for _, tc := range tests {
		f.clock.Advance(time.Second)
		_, _, err := f.ids.SignIn(ctx, identity.SignInInput{Email: tc.email, Password: tc.password, Client: tc.client})
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.wantErr)
		}
		all, err := f.store.AuditEvents(t.Context(), audit.Query{AllUsers: true, Limit: 1})
		if err != nil || len(all) != 1 {
			t.Fatalf("%s: %v %v", tc.name, all, err)
		}
		e := all[0]
		if e.Type != tc.wantType || e.UserID != tc.wantUser || !e.CreatedAt.Equal(f.clock.Now()) || e.RequestID != "req-42" ||
			e.IPAddress != tc.ip || e.UserAgent != tc.ua || len(e.Detail) != len(tc.detail) {
			t.Errorf("%s: event %+v", tc.name, e)
		}
		for k, v := range tc.detail {
			if e.Detail[k] != v {
				t.Errorf("%s: detail %v, want %v", tc.name, e.Detail, tc.detail)
			}
		}
	}
	// Input refused before any account is looked at records nothing.
	n := len(f.events(t, ann.ID))
	if _, _, err := f.ids.SignIn(ctx, identity.SignInInput{Email: "not an address", Password: pw}); !errors.Is(err, identity.ErrInvalidEmail) {
		t.Fatal(err)
	}
	if len(f.events(t, ann.ID)) != n {
		t.Error("an invalid address was recorded")
	}
}

func TestUnverifiedSignInIsRecordedWithItsReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{requireVerification: true})
	_, _, err := f.ids.SignUp(t.Context(), identity.SignUpInput{Name: "Ann", Email: "ann@example.com", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.store.UserByEmail(t.Context(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, _, err := f.ids.SignIn(t.Context(), identity.SignInInput{Email: "ann@example.com", Password: pw}); !errors.Is(err, identity.ErrEmailNotVerified) {
		t.Fatal(err)
	}
	got := f.events(t, u.ID)
	if len(got) != 2 || got[0].Type != audit.SignInFailed || got[0].Detail["reason"] != "email-not-verified" || got[1].Type != audit.SignUp {
		t.Errorf("events = %+v", got)
	}
	// A sign-up for a taken address (answered as if new) records nothing for its owner.
	if _, _, err := f.ids.SignUp(t.Context(), identity.SignUpInput{Name: "Eve", Email: "ann@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if len(f.events(t, u.ID)) != 2 {
		t.Errorf("a duplicate sign-up was recorded on the owner's trail: %+v", f.events(t, u.ID))
	}
}

// Revoking a session: one (named by id, not token), others, all; a token
// that is not the user's records nothing; a sign-out names the session.
func TestSessionEndingEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	ann, first := f.signUp(t, "ann@example.com", true)
	bob, bobs := f.signUp(t, "bob@example.com", true)
	ctx := t.Context()
	open := func() identity.Session {
		_, s, err := f.ids.SignIn(ctx, identity.SignInInput{Email: "ann@example.com", Password: pw, RememberMe: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	second, third := open(), open()
	step := func() { f.clock.Advance(time.Second) }
	step()
	if err := f.ids.RevokeSession(ctx, ann.ID, bobs.Token); err != nil { // not hers: ignored
		t.Fatal(err)
	}
	step()
	if err := f.ids.RevokeSession(ctx, ann.ID, second.Token); err != nil {
		t.Fatal(err)
	}
	step()
	if err := f.ids.RevokeOtherSessions(ctx, ann.ID, first.Token); err != nil {
		t.Fatal(err)
	}
	step()
	if err := f.ids.SignOut(ctx, first.Token); err != nil {
		t.Fatal(err)
	}
	step()
	if err := f.ids.SignOut(ctx, first.Token); err != nil { // again: nothing ends
		t.Fatal(err)
	}
	step()
	if err := f.ids.RevokeSessions(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	got := f.events(t, ann.ID)
	want := []struct {
		typ   audit.Type
		scope string
		sid   string
	}{
		{audit.SessionRevoked, "all", ""},
		{audit.SignOut, "", first.ID},
		{audit.SessionRevoked, "others", ""},
		{audit.SessionRevoked, "one", second.ID},
	}
	if len(got) != len(want)+3 { // + two sign-ins, the sign-up
		t.Fatalf("events = %+v", got)
	}
	for i, w := range want {
		e := got[i]
		if e.Type != w.typ || e.Detail["scope"] != w.scope || e.Detail["sessionId"] != w.sid {
			t.Errorf("event %d = %+v, want %s scope %q session %q", i, e, w.typ, w.scope, w.sid)
		}
		if i > 0 && !e.CreatedAt.Before(got[i-1].CreatedAt) {
			t.Errorf("events not newest first: %v then %v", got[i-1].CreatedAt, e.CreatedAt)
		}
	}
	_ = third
	if got := f.events(t, bob.ID); len(got) != 1 || got[0].Type != audit.SignUp {
		t.Errorf("bob's events = %+v: ann's revocation of his token reached his trail", got)
	}
}

func TestSecurityActivityLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	ann, _ := f.signUp(t, "ann@example.com", true)
	for range 25 {
		f.clock.Advance(time.Second)
		if _, _, err := f.ids.SignIn(t.Context(), identity.SignInInput{Email: "ann@example.com", Password: pw}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		limit, want int
		err         error
	}{{0, audit.DefaultLimit, nil}, {1, 1, nil}, {100, 26, nil}, {101, 0, audit.ErrInvalidQuery}, {-1, 0, audit.ErrInvalidQuery}} {
		got, err := f.ids.SecurityActivity(t.Context(), ann.ID, tc.limit)
		if !errors.Is(err, tc.err) || len(got) != tc.want {
			t.Errorf("limit %d: %d events, %v; want %d, %v", tc.limit, len(got), err, tc.want, tc.err)
		}
	}
	if got, err := f.ids.SecurityActivity(t.Context(), "", 10); !errors.Is(err, audit.ErrInvalidQuery) || got != nil {
		t.Errorf("no user: %v %v; want ErrInvalidQuery (never every user's events)", got, err)
	}
	newest, _ := f.ids.SecurityActivity(context.Background(), ann.ID, 1)
	if !newest[0].CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("newest event at %v, want the clock's %v", newest[0].CreatedAt, f.clock.Now())
	}
}

// Password change and reset, email verification and change, deletion.
func TestAccountChangeEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	ann, sess := f.signUp(t, "ann@example.com", true)
	ctx := t.Context()
	step := func() { f.clock.Advance(time.Second) }
	step()
	if _, err := f.ids.ChangePassword(ctx, ann.ID, identity.ChangePasswordInput{CurrentPassword: "wrong password", NewPassword: "another password"}); !errors.Is(err, identity.ErrInvalidPassword) {
		t.Fatal(err)
	}
	if _, err := f.ids.ChangePassword(ctx, ann.ID, identity.ChangePasswordInput{CurrentPassword: pw, NewPassword: "another password", RevokeOtherSessions: true}); err != nil {
		t.Fatal(err)
	}
	step()
	if err := f.ids.RequestPasswordReset(ctx, "ann@example.com", "/reset"); err != nil {
		t.Fatal(err)
	}
	token := f.lastLink(t, resetLink)
	if err := f.ids.ResetPassword(ctx, token, "reset password 1"); err != nil {
		t.Fatal(err)
	}
	if err := f.ids.ResetPassword(ctx, token, "reset password 2"); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("the token twice: %v", err)
	}
	step()
	f.ids.UseAccountPolicy(identity.AccountPolicy{DeleteUser: true})
	p := "reset password 1"
	if err := f.ids.DeleteUser(ctx, identity.Authenticated{User: ann, Session: sess}, &p, ""); err != nil {
		t.Fatal(err)
	}
	got := f.events(t, ann.ID)
	var types []audit.Type
	for _, e := range got {
		types = append(types, e.Type)
	}
	want := []audit.Type{audit.AccountDeleted, audit.PasswordReset, audit.PasswordChanged, audit.SignUp}
	if len(types) != len(want) {
		t.Fatalf("types = %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("types = %v, want %v", types, want)
		}
	}
	if got[1].Detail["sessionsEnded"] != "true" || got[2].Detail["sessionsEnded"] != "true" {
		t.Errorf("password events %+v %+v: sessions ended on both", got[1], got[2])
	}
}
