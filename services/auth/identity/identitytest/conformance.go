// Package identitytest is the conformance suite every identity.Store
// implementation must pass, run by each backend's own tests.
package identitytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/services/auth/identity"
)

// RunStoreTests runs every conformance test; newStore must return an empty store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) identity.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s identity.Store)
	}{
		{"CreateUserStoresUserAndAccountTogether", testCreateUser},
		{"DuplicateEmailIsAConflictAndWritesNothing", testDuplicateEmail},
		{"ConcurrentDuplicateSignUpsLeaveOneUser", testConcurrentDuplicate},
		{"MissingRowsAreNotFound", testNotFound},
		{"SessionsRoundTripWithTheirUser", testSessions},
		{"ExtendSessionMovesExpiry", testExtendSession},
		{"DeletingSessionsIsScopedToTheUser", testDeleteSessions},
		{"ActiveSessionsSkipExpiredOnes", testActiveSessions},
		{"UpdateUserChangesOnlyPatchedFields", testUpdateUser},
		{"ChangePasswordReplacesSessionsAtomically", testChangePassword},
		{"TimesKeepMillisecondsInUTC", testTimes},
		{"VerificationsReturnTheNewestRow", testVerifications},
		{"ResetPasswordConsumesTheTokenOnce", testResetPassword},
		{"ResetPasswordCreatesAMissingCredentialAccount", testResetCreatesCredential},
		{"PasswordAndEmailChangesEndEveryResetTokenOfTheUser", testResetTokensEnd},
		{"EmailVerifiedIsPatchable", testMarkVerified},
		{"EmailChangeConflictsWithATakenAddress", testChangeEmailConflict},
		{"DeleteUserTakesSessionsAndAccounts", testDeleteUser},
		{"SocialAccountsRoundTripWithTheirTokens", testSocialAccounts},
	}
	tests = append(tests, auditTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, 11, 29, 10, 30, 0, 123_000_000, time.UTC)

func newUser(email string) (identity.User, identity.Account) {
	u := identity.User{ID: identity.NewID(), Name: "Ann", Email: email, CreatedAt: t0, UpdatedAt: t0}
	hash := "00112233445566778899aabbccddeeff:abcd"
	a := identity.Account{
		ID: identity.NewID(), AccountID: u.ID, ProviderID: identity.CredentialProvider, UserID: u.ID,
		Password: &hash, CreatedAt: t0, UpdatedAt: t0,
	}
	return u, a
}

func newSession(userID string, expires time.Time) identity.Session {
	return identity.Session{
		ID: identity.NewID(), Token: identity.NewID(), UserID: userID,
		ExpiresAt: expires, CreatedAt: t0, UpdatedAt: t0, IPAddress: "203.0.113.7", UserAgent: "test/1.0",
	}
}

func mustCreate(t *testing.T, s identity.Store, email string) identity.User {
	t.Helper()
	u, a := newUser(email)
	if err := s.CreateUser(context.Background(), u, a); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func testCreateUser(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "ann@example.com")
	got, err := s.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.Name != "Ann" || got.EmailVerified || got.Image != nil {
		t.Errorf("UserByEmail = %+v, want %+v", got, u)
	}
	acct, err := s.CredentialAccount(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if acct.UserID != u.ID || acct.AccountID != u.ID || acct.Password == nil {
		t.Errorf("CredentialAccount = %+v", acct)
	}
}

func testDuplicateEmail(t *testing.T, s identity.Store) {
	ctx := context.Background()
	first := mustCreate(t, s, "dup@example.com")
	u, a := newUser("dup@example.com")
	if err := s.CreateUser(ctx, u, a); !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("second CreateUser = %v, want ErrConflict", err)
	}
	if _, err := s.CredentialAccount(ctx, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the losing sign-up left an account row (err = %v)", err)
	}
	got, _ := s.UserByEmail(ctx, "dup@example.com")
	if got.ID != first.ID {
		t.Errorf("user = %s, want the first one %s", got.ID, first.ID)
	}
}

func testConcurrentDuplicate(t *testing.T, s identity.Store) {
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	results := make(chan error, n)
	ids := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, a := newUser("race@example.com")
			err := s.CreateUser(ctx, u, a)
			results <- err
			if err == nil {
				ids <- u.ID
			}
		}()
	}
	wg.Wait()
	close(results)
	close(ids)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, identity.ErrConflict):
			t.Errorf("CreateUser = %v, want nil or ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d sign-ups succeeded, want exactly 1", ok)
	}
	winner := <-ids
	if _, err := s.CredentialAccount(ctx, winner); err != nil {
		t.Errorf("winner has no account: %v", err)
	}
}

func testNotFound(t *testing.T, s identity.Store) {
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["UserByEmail"] = s.UserByEmail(ctx, "nobody@example.com")
	_, checks["UserByID"] = s.UserByID(ctx, "missing")
	_, checks["CredentialAccount"] = s.CredentialAccount(ctx, "missing")
	_, _, checks["SessionByToken"] = s.SessionByToken(ctx, "missing")
	checks["ExtendSession"] = s.ExtendSession(ctx, "missing", t0, t0)
	_, checks["UpdateUser"] = s.UpdateUser(ctx, "missing", identity.UserPatch{Name: ptr("x")}, t0)
	for op, err := range checks {
		if !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", op, err)
		}
	}
}

func testSessions(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "sess@example.com")
	sess := newSession(u.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, user, err := s.SessionByToken(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got != sess {
		t.Errorf("session = %+v, want %+v", got, sess)
	}
	if user.ID != u.ID || user.Email != u.Email || !user.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("user = %+v, want %+v", user, u)
	}
	if err := s.DeleteSession(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByToken(ctx, sess.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func testExtendSession(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "ext@example.com")
	sess := newSession(u.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	later, now := t0.Add(7*24*time.Hour), t0.Add(time.Minute)
	if err := s.ExtendSession(ctx, sess.Token, later, now); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.SessionByToken(ctx, sess.Token)
	if !got.ExpiresAt.Equal(later) || !got.UpdatedAt.Equal(now) {
		t.Errorf("expires %v updated %v, want %v and %v", got.ExpiresAt, got.UpdatedAt, later, now)
	}
}

func testDeleteSessions(t *testing.T, s identity.Store) {
	ctx := context.Background()
	ann := mustCreate(t, s, "ann2@example.com")
	bob := mustCreate(t, s, "bob2@example.com")
	a1, a2, a3 := newSession(ann.ID, t0.Add(time.Hour)), newSession(ann.ID, t0.Add(time.Hour)), newSession(ann.ID, t0.Add(time.Hour))
	b1 := newSession(bob.ID, t0.Add(time.Hour))
	for _, x := range []identity.Session{a1, a2, a3, b1} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	// Bob cannot delete Ann's session by naming its token.
	if err := s.DeleteUserSession(ctx, bob.ID, a1.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByToken(ctx, a1.Token); err != nil {
		t.Errorf("Bob deleted Ann's session: %v", err)
	}
	if err := s.DeleteOtherSessions(ctx, ann.ID, a1.Token); err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{a1.Token: true, a2.Token: false, a3.Token: false, b1.Token: true} {
		_, _, err := s.SessionByToken(ctx, tok)
		if (err == nil) != want {
			t.Errorf("after DeleteOtherSessions, session exists = %v, want %v", err == nil, want)
		}
	}
	if err := s.DeleteUserSessions(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByToken(ctx, a1.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("Ann's last session survived DeleteUserSessions")
	}
	if _, _, err := s.SessionByToken(ctx, b1.Token); err != nil {
		t.Errorf("Bob's session was deleted with Ann's: %v", err)
	}
}

func testActiveSessions(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "active@example.com")
	live, dead := newSession(u.ID, t0.Add(time.Hour)), newSession(u.ID, t0.Add(-time.Hour))
	for _, x := range []identity.Session{live, dead} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ActiveSessions(ctx, u.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Token != live.Token {
		t.Errorf("ActiveSessions = %+v, want only the live one", got)
	}
}

func testUpdateUser(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "upd@example.com")
	later := t0.Add(time.Hour)
	got, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{SetImage: true, Image: ptr("https://img.example/a.png")}, later)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ann" || got.Image == nil || *got.Image != "https://img.example/a.png" || !got.UpdatedAt.Equal(later) {
		t.Errorf("after image update: %+v", got)
	}
	got, err = s.UpdateUser(ctx, u.ID, identity.UserPatch{Name: ptr("Ann B"), SetImage: true}, later)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ann B" || got.Image != nil {
		t.Errorf("after name update and image clear: %+v", got)
	}
}

func testChangePassword(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "pw@example.com")
	old := newSession(u.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	acct, _ := s.CredentialAccount(ctx, u.ID)
	repl := newSession(u.ID, t0.Add(time.Hour))
	if err := s.ChangePassword(ctx, acct.ID, "new-hash", t0, &repl); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.CredentialAccount(ctx, u.ID); a.Password == nil || *a.Password != "new-hash" {
		t.Errorf("password not changed: %+v", a)
	}
	if _, _, err := s.SessionByToken(ctx, old.Token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("old session survived: %v", err)
	}
	if _, _, err := s.SessionByToken(ctx, repl.Token); err != nil {
		t.Errorf("replacement session missing: %v", err)
	}
	// A replacement that cannot be written (its id is taken) rolls the whole
	// change back: the password and the sessions stay as they were.
	bob := mustCreate(t, s, "pw-bob@example.com")
	bobs := newSession(bob.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, bobs); err != nil {
		t.Fatal(err)
	}
	clash := newSession(u.ID, t0.Add(time.Hour))
	clash.ID = bobs.ID
	if err := s.ChangePassword(ctx, acct.ID, "newer-hash", t0, &clash); err == nil {
		t.Fatal("ChangePassword with a clashing session id succeeded")
	}
	if a, _ := s.CredentialAccount(ctx, u.ID); a.Password == nil || *a.Password != "new-hash" {
		t.Errorf("a failed change altered the password: %+v", a)
	}
	if _, _, err := s.SessionByToken(ctx, repl.Token); err != nil {
		t.Errorf("a failed change deleted the sessions: %v", err)
	}
}

func testTimes(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "time@example.com")
	got, _ := s.UserByID(ctx, u.ID)
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(t0) {
		t.Errorf("created_at = %v (%v), want %v UTC", got.CreatedAt, got.CreatedAt.Location(), t0)
	}
}

func ptr[T any](v T) *T { return &v }

func newVerification(identifier, value string, created time.Time) identity.Verification {
	return identity.Verification{
		ID: identity.NewID(), Identifier: identifier, Value: value,
		ExpiresAt: created.Add(time.Hour), CreatedAt: created, UpdatedAt: created,
	}
}

func testVerifications(t *testing.T, s identity.Store) {
	ctx := context.Background()
	older := newVerification("reset-password:abc", "old", t0)
	newer := newVerification("reset-password:abc", "new", t0.Add(time.Second))
	other := newVerification("reset-password:xyz", "other", t0)
	for _, v := range []identity.Verification{older, newer, other} {
		if err := s.CreateVerification(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Verification(ctx, "reset-password:abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "new" || !got.ExpiresAt.Equal(newer.ExpiresAt) {
		t.Errorf("Verification = %+v, want the newest row %+v", got, newer)
	}
	if err := s.DeleteVerifications(ctx, "reset-password:abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verification(ctx, "reset-password:abc"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Verification(ctx, "reset-password:xyz"); err != nil {
		t.Errorf("another identifier's row went too: %v", err)
	}
}

func testResetPassword(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "reset@example.com")
	bystander := mustCreate(t, s, "bystander@example.com")
	for _, uid := range []string{u.ID, u.ID, bystander.ID} {
		if err := s.CreateSession(ctx, newSession(uid, t0.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateVerification(ctx, newVerification("reset-password:tok", u.ID, t0)); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Minute)
	if err := s.ResetPassword(ctx, "reset-password:tok", u.ID, "aa:bb", later, true); err != nil {
		t.Fatal(err)
	}
	acct, err := s.CredentialAccount(ctx, u.ID)
	if err != nil || acct.Password == nil || *acct.Password != "aa:bb" || !acct.UpdatedAt.Equal(later) {
		t.Errorf("credential after reset = %+v, %v", acct, err)
	}
	if left, _ := s.ActiveSessions(ctx, u.ID, t0); len(left) != 0 {
		t.Errorf("%d sessions survived the reset", len(left))
	}
	if left, _ := s.ActiveSessions(ctx, bystander.ID, t0); len(left) != 1 {
		t.Errorf("another user's sessions changed: %d left", len(left))
	}
	err = s.ResetPassword(ctx, "reset-password:tok", u.ID, "cc:dd", later, false)
	if !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("second reset with the same token = %v, want ErrNotFound", err)
	}
	if acct, _ := s.CredentialAccount(ctx, u.ID); *acct.Password != "aa:bb" {
		t.Errorf("a consumed token changed the password to %q", *acct.Password)
	}
}

func testResetCreatesCredential(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u, a := newUser("social@example.com")
	a.ProviderID, a.AccountID, a.Password = "google", "google-sub-1", nil
	if err := s.CreateUser(ctx, u, a); err != nil {
		t.Fatal(err)
	}
	sess := newSession(u.ID, t0.Add(time.Hour))
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVerification(ctx, newVerification("reset-password:t2", u.ID, t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, "reset-password:t2", u.ID, "ee:ff", t0, false); err != nil {
		t.Fatal(err)
	}
	acct, err := s.CredentialAccount(ctx, u.ID)
	if err != nil || acct.AccountID != u.ID || acct.Password == nil || *acct.Password != "ee:ff" {
		t.Errorf("credential account = %+v, %v; want one with the new hash", acct, err)
	}
	if _, _, err := s.SessionByToken(ctx, sess.Token); err != nil {
		t.Errorf("session ended although revokeSessions was off: %v", err)
	}
}

// testResetTokensEnd: older reset links die with a reset, a password change
// or a new address (issue 13: request A and B, reset with B, A still reset
// the password), and only that user's reset tokens go.
func testResetTokensEnd(t *testing.T, s identity.Store) {
	ctx := context.Background()
	changes := []struct {
		name   string
		change func(u identity.User, used string) error
	}{
		{"reset with another token", func(u identity.User, used string) error {
			return s.ResetPassword(ctx, used, u.ID, "aa:bb", t0, false)
		}},
		{"password change", func(u identity.User, _ string) error {
			acct, err := s.CredentialAccount(ctx, u.ID)
			if err != nil {
				return err
			}
			return s.ChangePassword(ctx, acct.ID, "cc:dd", t0, nil)
		}},
		{"email change", func(u identity.User, _ string) error {
			moved := "moved-" + u.Email
			_, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{Email: &moved}, t0)
			return err
		}},
	}
	for i, tc := range changes {
		u := mustCreate(t, s, fmt.Sprintf("tokens%d@example.com", i))
		other := mustCreate(t, s, fmt.Sprintf("other%d@example.com", i))
		p := identity.ResetTokenPrefix
		rows := []identity.Verification{
			newVerification(p+"A"+u.ID, u.ID, t0),
			newVerification(p+"B"+u.ID, u.ID, t0.Add(time.Second)),
			newVerification(p+"C"+u.ID, other.ID, t0),      // another user's reset token
			newVerification("auth-state:S"+u.ID, u.ID, t0), // not a reset token
		}
		for _, v := range rows {
			if err := s.CreateVerification(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := tc.change(u, rows[1].Identifier); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, gone := range rows[:2] {
			if _, err := s.Verification(ctx, gone.Identifier); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("after a %s, reset token %s: %v, want ErrNotFound", tc.name, gone.Identifier, err)
			}
		}
		for _, kept := range rows[2:] {
			if _, err := s.Verification(ctx, kept.Identifier); err != nil {
				t.Errorf("after a %s, %s went too: %v", tc.name, kept.Identifier, err)
			}
		}
	}
	// A name change is no reason to end reset links.
	u := mustCreate(t, s, "renamed@example.com")
	keep := newVerification(identity.ResetTokenPrefix+"K", u.ID, t0)
	if err := s.CreateVerification(ctx, keep); err != nil {
		t.Fatal(err)
	}
	name := "Renamed"
	if _, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{Name: &name}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verification(ctx, keep.Identifier); err != nil {
		t.Errorf("a name change ended a reset token: %v", err)
	}
}

func testMarkVerified(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "verify@example.com")
	yes := true
	got, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{EmailVerified: &yes}, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !got.EmailVerified || got.Name != u.Name || !got.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("after verifying: %+v", got)
	}
}

func testChangeEmailConflict(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "old@example.com")
	mustCreate(t, s, "taken@example.com")
	taken := "taken@example.com"
	if _, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{Email: &taken}, t0); !errors.Is(err, identity.ErrConflict) {
		t.Errorf("changing to a taken address: %v, want ErrConflict", err)
	}
	fresh := "new@example.com"
	got, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{Email: &fresh}, t0)
	if err != nil || got.Email != fresh {
		t.Fatalf("changing to a free address: %+v %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "old@example.com"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the old address still finds a user: %v", err)
	}
}

func testDeleteUser(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "gone@example.com")
	keep := mustCreate(t, s, "stays@example.com")
	for _, uid := range []string{u.ID, keep.ID} {
		if err := s.CreateSession(ctx, newSession(uid, t0.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("user still there: %v", err)
	}
	if _, err := s.CredentialAccount(ctx, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("account still there: %v", err)
	}
	if left, _ := s.ActiveSessions(ctx, u.ID, t0); len(left) != 0 {
		t.Errorf("%d sessions left", len(left))
	}
	if left, _ := s.ActiveSessions(ctx, keep.ID, t0); len(left) != 1 {
		t.Errorf("another user's sessions changed: %d", len(left))
	}
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
}

func testSocialAccounts(t *testing.T, s identity.Store) {
	ctx := context.Background()
	u := mustCreate(t, s, "social@example.com")
	access, scope := "ya29.a", "openid,email"
	exp := t0.Add(time.Hour)
	a := identity.Account{
		ID: identity.NewID(), AccountID: "sub-1", ProviderID: "google", UserID: u.ID, CreatedAt: t0.Add(time.Second), UpdatedAt: t0,
		Tokens: identity.AccountTokens{AccessToken: &access, AccessTokenExpiresAt: &exp, Scope: &scope},
	}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountByProvider(ctx, "google", "sub-1")
	if err != nil || got.UserID != u.ID || *got.Tokens.AccessToken != access || !got.Tokens.AccessTokenExpiresAt.Equal(exp) || *got.Tokens.Scope != scope {
		t.Fatalf("AccountByProvider = %+v, %v", got, err)
	}
	if _, err := s.AccountByProvider(ctx, "google", "sub-2"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("unknown subject: %v", err)
	}
	fresh := "ya29.b"
	if err := s.UpdateAccountTokens(ctx, a.ID, identity.AccountTokens{AccessToken: &fresh}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AccountByProvider(ctx, "google", "sub-1")
	if *got.Tokens.AccessToken != fresh || *got.Tokens.Scope != scope {
		t.Errorf("after update: %+v (scope must stay)", got.Tokens)
	}
	all, err := s.Accounts(ctx, u.ID)
	if err != nil || len(all) != 2 || all[0].ProviderID != identity.CredentialProvider || all[1].ProviderID != "google" {
		t.Fatalf("Accounts = %+v, %v", all, err)
	}
	other := mustCreate(t, s, "other@example.com")
	if err := s.DeleteAccount(ctx, other.ID, a.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("deleting another user's account: %v", err)
	}
	if err := s.DeleteAccount(ctx, u.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Accounts(ctx, u.ID); len(all) != 1 {
		t.Errorf("%d accounts after delete", len(all))
	}
}
