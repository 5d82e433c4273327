package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/signing"
)

const inputKey = "latch.input"

// validated runs a route's schema on its body and keeps the parsed input
// for the handler. better-call validates before the route's middlewares, so
// a bad body is a 400 even without a session.
func validated[T any](h *handler, want shape, parse func(b body, v *validationErrors) T) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := bodyObject(c, want)
		if err != nil {
			h.fail(c, err)
			return
		}
		var v validationErrors
		in := parse(b, &v)
		if err := v.err(); err != nil {
			h.fail(c, err)
			return
		}
		c.Set(inputKey, in)
	}
}

func inputOf[T any](c *gin.Context) T { return c.MustGet(inputKey).(T) }

type signUpInput struct {
	name, email, password, callbackURL string
	image                              *string
	remember                           bool
}

func parseSignUp(b body, v *validationErrors) signUpInput {
	var in signUpInput
	in.name, _ = b.str(v, "name", true)
	email, ok := b.str(v, "email", true)
	if ok && !identity.ValidEmail(email) {
		v.add("email", "Invalid email address")
	}
	in.email = email
	pw, ok := b.str(v, "password", true)
	if ok && pw == "" {
		v.add("password", "Too small: expected string to have >=1 characters")
	}
	in.password = pw
	if s, ok := b.str(v, "image", false); ok {
		in.image = &s
	}
	in.callbackURL, _ = b.str(v, "callbackURL", false)
	in.remember = b.boolean(v, "rememberMe", true)
	return in
}

func (h *handler) signUpEmail(c *gin.Context) {
	in := inputOf[signUpInput](c)
	if err := h.checkCallbackURL(in.callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	user, sess, err := h.ids.SignUp(c.Request.Context(), identity.SignUpInput{
		Name: in.name, Email: in.email, Password: in.password, Image: in.image,
		RememberMe: in.remember, Client: clientOf(c.Request), CallbackURL: in.callbackURL,
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	if sess.Token == "" { // email verification required first: no session, token null
		c.JSON(http.StatusOK, gin.H{"token": nil, "user": h.renderUser(user)})
		return
	}
	h.cookies.setSession(c, sess.Token, in.remember, h.ids.Policy().SessionTTL)
	c.JSON(http.StatusOK, gin.H{"token": sess.Token, "user": h.renderUser(user)})
}

type signInInput struct {
	email, password, callbackURL string
	remember                     bool
}

func parseSignIn(b body, v *validationErrors) signInInput {
	var in signInInput
	in.email, _ = b.str(v, "email", true)
	in.password, _ = b.str(v, "password", true)
	in.callbackURL, _ = b.str(v, "callbackURL", false)
	in.remember = b.boolean(v, "rememberMe", true)
	return in
}

type signInResponse struct {
	Redirect bool     `json:"redirect"`
	Token    string   `json:"token"`
	URL      string   `json:"url,omitempty"`
	User     userJSON `json:"user"`
}

func (h *handler) signInEmail(c *gin.Context) {
	in := inputOf[signInInput](c)
	if err := h.checkCallbackURL(in.callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	user, sess, err := h.ids.SignIn(c.Request.Context(), identity.SignInInput{
		Email: in.email, Password: in.password, RememberMe: in.remember, Client: clientOf(c.Request),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	if h.ids.SecondFactorDue(user) {
		trusted, answered := h.secondFactor(c, user, in.remember)
		if answered {
			return
		}
		sess = trusted
	}
	h.cookies.setSession(c, sess.Token, in.remember, h.ids.Policy().SessionTTL)
	resp := signInResponse{Token: sess.Token, User: h.renderUser(user)}
	if in.callbackURL != "" {
		resp.Redirect, resp.URL = true, in.callbackURL
		c.Header("Location", in.callbackURL)
	}
	c.JSON(http.StatusOK, resp)
}

func (h *handler) signOut(c *gin.Context) {
	if token, ok := h.sessionToken(c, requestCookies(c.Request)); ok {
		if err := h.ids.SignOut(c.Request.Context(), token); err != nil {
			h.fail(c, err)
			return
		}
	}
	h.cookies.clearSession(c)
	c.JSON(http.StatusOK, gin.H{"success": true})
}

type sessionResponse struct {
	Session sessionJSON `json:"session"`
	User    userJSON    `json:"user"`
}

// getSession answers the session or the literal null, never cached, with a
// fresh JWT in set-auth-jwt (the jwt plugin's header).
func (h *handler) getSession(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	if _, stray := requestCookies(c.Request)[h.cookies.sessionData()]; stray {
		zero := 0 // no cookie cache here: expire one a Better Auth deployment left
		h.cookies.write(c, h.cookies.sessionData(), "", &zero)
	}
	auth, err := h.authenticate(c, identity.SessionOptions{NoRefresh: c.Query("disableRefresh") != ""})
	if errors.Is(err, identity.ErrUnauthenticated) {
		c.Data(http.StatusOK, "application/json", []byte("null"))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	jwt, err := h.sign(c, auth)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("set-auth-jwt", jwt)
	exposeHeader(c, "set-auth-jwt")
	c.JSON(http.StatusOK, sessionResponse{Session: h.renderSession(auth.Session), User: h.renderUser(auth.User)})
}

func (h *handler) listSessions(c *gin.Context) {
	auth := authOf(c)
	sessions, err := h.ids.ListSessions(c.Request.Context(), auth.User.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]sessionJSON, len(sessions))
	for i, s := range sessions {
		out[i] = h.renderSession(s)
	}
	c.JSON(http.StatusOK, out)
}

func parseRevokeSession(b body, v *validationErrors) string {
	token, _ := b.str(v, "token", true)
	return token
}

func (h *handler) revokeSession(c *gin.Context) {
	token, auth := inputOf[string](c), authOf(c)
	if err := h.ids.RevokeSession(c.Request.Context(), auth.User.ID, token); err != nil {
		h.fail(c, err)
		return
	}
	if token == auth.Session.Token {
		h.cookies.clearSession(c)
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

func (h *handler) revokeSessions(c *gin.Context) {
	if err := h.ids.RevokeSessions(c.Request.Context(), authOf(c).User.ID); err != nil {
		h.fail(c, err)
		return
	}
	h.cookies.clearSession(c)
	c.JSON(http.StatusOK, gin.H{"status": true})
}

func (h *handler) revokeOtherSessions(c *gin.Context) {
	auth := authOf(c)
	if err := h.ids.RevokeOtherSessions(c.Request.Context(), auth.User.ID, auth.Session.Token); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

type updateUserInput struct {
	emailGiven bool
	patch      identity.UserPatch
}

// parseUpdateUser reads Better Auth's record of fields. Unlike Better Auth,
// which writes whatever JSON arrives, a name or image of the wrong type is a
// validation error rather than a coerced column.
func parseUpdateUser(b body, v *validationErrors) updateUserInput {
	var in updateUserInput
	if email, ok := b["email"]; ok && truthy(email) {
		in.emailGiven = true
	}
	if name, ok := b.str(v, "name", false); ok {
		in.patch.Name = &name
	}
	if image, present := b.nullableStr(v, "image"); present {
		in.patch.SetImage, in.patch.Image = true, image
	}
	return in
}

func (h *handler) updateUser(c *gin.Context) {
	in, auth := inputOf[updateUserInput](c), authOf(c)
	if in.emailGiven {
		h.fail(c, identity.ErrEmailCannotBeUpdated)
		return
	}
	if _, err := h.ids.UpdateUser(c.Request.Context(), auth.User.ID, in.patch); err != nil {
		h.fail(c, err)
		return
	}
	// Better Auth re-issues the session cookie after a profile change.
	h.cookies.setSession(c, auth.Session.Token, !h.dontRemember(c), h.ids.Policy().SessionTTL)
	c.JSON(http.StatusOK, gin.H{"status": true})
}

type changePasswordInput = identity.ChangePasswordInput

func parseChangePassword(b body, v *validationErrors) changePasswordInput {
	var in changePasswordInput
	in.NewPassword, _ = b.str(v, "newPassword", true)
	in.CurrentPassword, _ = b.str(v, "currentPassword", true)
	in.RevokeOtherSessions = b.boolean(v, "revokeOtherSessions", false)
	return in
}

type changePasswordResponse struct {
	Token *string  `json:"token"`
	User  userJSON `json:"user"`
}

func (h *handler) changePassword(c *gin.Context) {
	in, auth := inputOf[changePasswordInput](c), authOf(c)
	in.Client = clientOf(c.Request)
	sess, err := h.ids.ChangePassword(c.Request.Context(), auth.User.ID, in)
	if err != nil {
		h.fail(c, err)
		return
	}
	resp := changePasswordResponse{User: h.renderUser(auth.User)}
	if sess != nil {
		resp.Token = &sess.Token
		h.cookies.setSession(c, sess.Token, true, h.ids.Policy().SessionTTL)
	}
	c.JSON(http.StatusOK, resp)
}

func (h *handler) token(c *gin.Context) {
	jwt, err := h.sign(c, authOf(c))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"token": jwt})
}

// sign mints the session's JWT: the user, twoFactorEnabled with the plugin
// on, amr when a second factor opened the session, and with the
// organization plugin the active organization and the member's role there
// (none once they are no longer a member), under the same-second rule
// (organization.Service.TokenClaims).
func (h *handler) sign(c *gin.Context, auth identity.Authenticated) (string, error) {
	extra := signing.Extra{SessionID: auth.Session.ID, AMR: auth.Session.Methods()}
	if h.plugins.TwoFactor {
		enabled := auth.User.TwoFactorEnabled
		extra.TwoFactorEnabled = &enabled
	}
	if h.plugins.Organization {
		claims, err := h.orgs.TokenClaims(c.Request.Context(), auth.User.ID, auth.Session.ActiveOrganizationID)
		if err != nil {
			return "", err
		}
		extra.Organization, extra.OrganizationRole, extra.IssuedAt = claims.Organization, claims.Role, claims.IssuedAt
	}
	return h.tokens.SignWith(c.Request.Context(), auth.User, extra)
}

func (h *handler) jwks(c *gin.Context) {
	doc, err := h.tokens.JWKS(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", h.jwksAge)
	c.Data(http.StatusOK, "application/json", doc)
}

// dontRemember reports a validly signed dont_remember cookie: the session
// was opened with "remember me" off.
func (h *handler) dontRemember(c *gin.Context) bool {
	v, ok := requestCookies(c.Request)[h.cookies.dontRemember()]
	if !ok {
		return false
	}
	val, ok := signedcookie.Verify(v, h.cookies.secret)
	return ok && val == "true"
}

// formCSRF guards the sign-in and sign-up forms (see checkFormCSRF).
func (h *handler) formCSRF(c *gin.Context) {
	if err := h.checkFormCSRF(c); err != nil {
		h.fail(c, err)
	}
}

// truthy is JavaScript's truthiness for a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	default:
		if n, ok := v.(interface{ String() string }); ok {
			s := n.String()
			return s != "0" && s != "-0" && s != "0.0"
		}
		return true
	}
}
