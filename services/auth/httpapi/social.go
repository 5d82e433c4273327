package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/services/auth/identity"
)

// Social sign-in (Google): sign-in/social, callback/:id, link-social,
// list-accounts, unlink-account.

type socialInput struct {
	provider, callbackURL, errorCallbackURL, newUserCallbackURL, loginHint string
	disableRedirect, hasIDToken                                            bool
	idToken, idTokenNonce, idTokenAccess                                   string
	requestSignUp                                                          *bool
	scopes                                                                 []string
}

func parseSocial(b body, v *validationErrors) socialInput {
	var in socialInput
	in.provider, _ = b.str(v, "provider", true)
	in.callbackURL, _ = b.str(v, "callbackURL", false)
	in.errorCallbackURL, _ = b.str(v, "errorCallbackURL", false)
	in.newUserCallbackURL, _ = b.str(v, "newUserCallbackURL", false)
	in.loginHint, _ = b.str(v, "loginHint", false)
	in.disableRedirect = b.boolean(v, "disableRedirect", false)
	if _, ok := b["requestSignUp"]; ok {
		rs := b.boolean(v, "requestSignUp", false)
		in.requestSignUp = &rs
	}
	if raw, ok := b["scopes"]; ok {
		list, isList := raw.([]any)
		if !isList {
			v.add("scopes", "Invalid input: expected array, received "+jsType(raw))
		}
		for _, s := range list {
			str, ok := s.(string)
			if !ok {
				v.add("scopes", "Invalid input: expected string, received "+jsType(s))
				break
			}
			in.scopes = append(in.scopes, str)
		}
	}
	if raw, ok := b["idToken"]; ok {
		in.hasIDToken = true
		obj, isObj := raw.(map[string]any)
		if !isObj {
			v.add("idToken", "Invalid input: expected object, received "+jsType(raw))
			return in
		}
		in.idToken, _ = body(obj).str(v, "token", true)
		in.idTokenNonce, _ = body(obj).str(v, "nonce", false)
		in.idTokenAccess, _ = body(obj).str(v, "accessToken", false)
	}
	return in
}

// checkSocialURLs is Better Auth's check of every URL a social request may redirect to.
func (h *handler) checkSocialURLs(in socialInput) error {
	for _, u := range []struct {
		value string
		err   *apiError
	}{
		{in.callbackURL, errInvalidCallbackURL},
		{in.errorCallbackURL, errInvalidErrorCallbackURL},
		{in.newUserCallbackURL, errInvalidNewUserCallbackURL},
	} {
		if u.value != "" && !h.origins.allowsRedirect(u.value) {
			return u.err
		}
	}
	return nil
}

func (h *handler) signInSocial(c *gin.Context) {
	in := inputOf[socialInput](c)
	h.startSocial(c, in, nil)
}

func (h *handler) linkSocial(c *gin.Context) {
	in, auth := inputOf[socialInput](c), authOf(c)
	h.startSocial(c, in, &auth)
}

func (h *handler) startSocial(c *gin.Context, in socialInput, linking *identity.Authenticated) {
	if err := h.checkSocialURLs(in); err != nil {
		h.fail(c, err)
		return
	}
	if !h.ids.HasProvider(in.provider) {
		h.fail(c, identity.ErrProviderNotFound)
		return
	}
	if in.hasIDToken && linking != nil {
		h.fail(c, errIDTokenNotSupported) // linking with a client-held ID token is not offered
		return
	}
	if in.hasIDToken {
		h.signInWithIDToken(c, in)
		return
	}
	start := identity.OAuthStart{
		Provider: in.provider, CallbackURL: in.callbackURL, ErrorURL: in.errorCallbackURL,
		NewUserURL: in.newUserCallbackURL, Scopes: in.scopes, LoginHint: in.loginHint, RequestSignUp: in.requestSignUp,
	}
	if linking != nil {
		start.LinkUserID, start.LinkEmail = linking.User.ID, linking.User.Email
	}
	authURL, state, err := h.ids.StartOAuth(c.Request.Context(), start, h.origin)
	if err != nil {
		h.fail(c, err)
		return
	}
	age := 300 // Better Auth's state cookie: 5 minutes, signed
	h.cookies.write(c, h.cookies.state(), h.cookies.signed(state), &age)
	c.Header("Location", authURL)
	c.JSON(http.StatusOK, gin.H{"url": authURL, "redirect": !in.disableRedirect})
}

// signInWithIDToken answers as Better Auth's sign-in/social with idToken:
// a session cookie and {redirect:false, token, user}.
func (h *handler) signInWithIDToken(c *gin.Context, in socialInput) {
	user, sess, err := h.ids.SignInWithIDToken(c.Request.Context(), in.provider, in.idToken, in.idTokenNonce, in.idTokenAccess, clientOf(c.Request))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.cookies.setSession(c, sess.Token, true, h.ids.Policy().SessionTTL)
	c.JSON(http.StatusOK, signInResponse{Token: sess.Token, User: h.renderUser(user)})
}

// oauthCallbackPost bounces a form_post callback to the GET route, as Better Auth does.
func (h *handler) oauthCallbackPost(c *gin.Context) {
	q := c.Request.URL.Query()
	if b, ok := c.Get(bodyKey); ok {
		if form, ok := b.(body); ok {
			for k, v := range form {
				if s, ok := v.(string); ok && q.Get(k) == "" {
					q.Set(k, s)
				}
			}
		}
	}
	h.redirect(c, h.apiBase+"/callback/"+url.PathEscape(c.Param("id"))+"?"+q.Encode())
}

func (h *handler) oauthCallback(c *gin.Context) {
	var current *identity.Authenticated
	if auth, err := h.authenticate(c, identity.SessionOptions{NoRefresh: true}); err == nil {
		current = &auth
	}
	cookieState := ""
	if raw, ok := requestCookies(c.Request)[h.cookies.state()]; ok {
		if v, ok := signedcookie.Verify(raw, h.cookies.secret); ok {
			cookieState = v
		}
	}
	zero := 0
	h.cookies.write(c, h.cookies.state(), "", &zero) // one use, whatever happens
	res, err := h.ids.FinishOAuth(c.Request.Context(), identity.OAuthCallback{
		Provider: c.Param("id"), State: c.Query("state"), CookieState: cookieState,
		Code: c.Query("code"), Error: c.Query("error"), Issuer: c.Query("iss"),
		Client: clientOf(c.Request), Current: current,
	}, h.apiBase+"/error")
	var oerr *identity.OAuthError
	if errors.As(err, &oerr) {
		if oerr.Err != nil {
			h.log.WarnContext(c.Request.Context(), "oauth callback refused", "code", oerr.Code, "err", oerr.Err)
		}
		h.redirect(c, withQuery(oerr.ErrorURL, "error", oerr.Code))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if res.Session != nil {
		h.cookies.setSession(c, res.Session.Token, true, h.ids.Policy().SessionTTL)
		c.Set(userIDKey, res.User.ID)
	}
	h.redirect(c, res.RedirectTo)
}

// accountJSON is list-accounts' item: the row without tokens or password.
type accountJSON struct {
	ID         string   `json:"id"`
	ProviderID string   `json:"providerId"`
	AccountID  string   `json:"accountId"`
	UserID     string   `json:"userId"`
	CreatedAt  string   `json:"createdAt"`
	UpdatedAt  string   `json:"updatedAt"`
	Scopes     []string `json:"scopes"`
}

func (h *handler) listAccounts(c *gin.Context) {
	accts, err := h.ids.ListAccounts(c.Request.Context(), authOf(c).User.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]accountJSON, len(accts))
	for i, a := range accts {
		out[i] = accountJSON{
			ID: a.ID, ProviderID: a.ProviderID, AccountID: a.AccountID, UserID: a.UserID,
			CreatedAt: jsTime(a.CreatedAt), UpdatedAt: jsTime(a.UpdatedAt), Scopes: splitScopes(a.Tokens.Scope),
		}
	}
	c.JSON(http.StatusOK, out)
}

func splitScopes(s *string) []string {
	out := []string{}
	if s == nil {
		return out
	}
	return append(out, splitComma(*s)...)
}

func parseUnlink(b body, v *validationErrors) string {
	id, _ := b.str(v, "accountId", true)
	return id
}

func (h *handler) unlinkAccount(c *gin.Context) {
	if err := h.ids.UnlinkAccount(c.Request.Context(), authOf(c).User.ID, inputOf[string](c)); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
