package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/auth/identity"
)

// The mailed-link flows: email verification and password reset.

type sendVerificationInput struct{ email, callbackURL string }

func parseSendVerification(b body, v *validationErrors) sendVerificationInput {
	var in sendVerificationInput
	in.email = zodEmail(b, v, "email")
	in.callbackURL, _ = b.str(v, "callbackURL", false)
	return in
}

// zodEmail reads a required member validated as zod's z.email().
func zodEmail(b body, v *validationErrors, field string) string {
	email, ok := b.str(v, field, true)
	if ok && !identity.ValidEmail(email) {
		v.add(field, "Invalid email address")
	}
	return email
}

// optionalSession is the caller's session, or nil for a signed-out caller.
func (h *handler) optionalSession(c *gin.Context) (*identity.Authenticated, error) {
	auth, err := h.authenticate(c, identity.SessionOptions{})
	switch {
	case err == nil:
		return &auth, nil
	case errors.Is(err, identity.ErrUnauthenticated):
		return nil, nil
	}
	return nil, err
}

func (h *handler) sendVerificationEmail(c *gin.Context) {
	in := inputOf[sendVerificationInput](c)
	if err := h.checkCallbackURL(in.callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	current, err := h.optionalSession(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.ids.SendVerificationEmail(c.Request.Context(), in.email, in.callbackURL, current); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

// verifyEmail follows a verification link. With a callbackURL every outcome
// is a redirect (failures as ?error=CODE); without one, JSON.
func (h *handler) verifyEmail(c *gin.Context) {
	token, hasToken := c.GetQuery("token")
	callbackURL := c.Query("callbackURL")
	if !hasToken {
		h.fail(c, &validationErrors{issues: []string{"[query.token] Invalid input: expected string, received undefined"}})
		return
	}
	if err := h.checkCallbackURL(callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	current, err := h.optionalSession(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	res, err := h.ids.VerifyEmail(c.Request.Context(), token, current, clientOf(c.Request))
	if err != nil {
		api := verifyEmailError(err)
		if api == nil {
			h.fail(c, err)
			return
		}
		if callbackURL != "" {
			h.redirect(c, withQuery(callbackURL, "error", api.Code))
			return
		}
		c.AbortWithStatusJSON(api.Status, api)
		return
	}
	if res.Session != nil {
		h.cookies.setSession(c, res.Session.Token, true, h.ids.Policy().SessionTTL)
	}
	if res.EmailChanged && current != nil { // re-issued with the new user, as Better Auth does
		h.cookies.setSession(c, current.Session.Token, !h.dontRemember(c), h.ids.Policy().SessionTTL)
	}
	if callbackURL != "" {
		h.redirect(c, callbackURL)
		return
	}
	if res.EmailChanged {
		c.JSON(http.StatusOK, gin.H{"status": true, "user": h.renderUser(res.User)})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true, "user": nil})
}

type requestResetInput struct{ email, redirectTo string }

func parseRequestReset(b body, v *validationErrors) requestResetInput {
	var in requestResetInput
	in.email = zodEmail(b, v, "email")
	in.redirectTo, _ = b.str(v, "redirectTo", false)
	return in
}

const resetRequestedMessage = "If this email exists in our system, check your email for the reset link"

func (h *handler) requestPasswordReset(c *gin.Context) {
	in := inputOf[requestResetInput](c)
	if in.redirectTo != "" && !h.origins.allowsRedirect(in.redirectTo) {
		h.fail(c, errInvalidRedirectURL)
		return
	}
	if err := h.ids.RequestPasswordReset(c.Request.Context(), in.email, in.redirectTo); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true, "message": resetRequestedMessage})
}

// resetPasswordCallback is the mailed link: it checks the token and sends
// the browser on to the app's reset form with ?token=, or ?error=INVALID_TOKEN.
func (h *handler) resetPasswordCallback(c *gin.Context) {
	callbackURL, ok := c.GetQuery("callbackURL")
	if !ok {
		h.fail(c, &validationErrors{issues: []string{"[query.callbackURL] Invalid input: expected string, received undefined"}})
		return
	}
	if err := h.checkCallbackURL(callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	target := callbackURL
	if target == "" {
		target = h.apiBase + "/error"
	}
	token := c.Param("token")
	err := h.ids.CheckResetToken(c.Request.Context(), token)
	switch {
	case errors.Is(err, identity.ErrInvalidToken):
		h.redirect(c, withParam(h.absolute(target), "error", "INVALID_TOKEN"))
	case err != nil:
		h.fail(c, err)
	case callbackURL == "":
		h.redirect(c, withParam(h.absolute(target), "error", "INVALID_TOKEN"))
	default:
		h.redirect(c, withParam(h.absolute(callbackURL), "token", token))
	}
}

type resetPasswordInput struct{ newPassword, token string }

func parseResetPassword(b body, v *validationErrors) resetPasswordInput {
	var in resetPasswordInput
	in.newPassword, _ = b.str(v, "newPassword", true)
	in.token, _ = b.str(v, "token", false)
	return in
}

func (h *handler) resetPassword(c *gin.Context) {
	in := inputOf[resetPasswordInput](c)
	if in.token == "" {
		in.token = c.Query("token")
	}
	if err := h.ids.ResetPassword(c.Request.Context(), in.token, in.newPassword); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}
