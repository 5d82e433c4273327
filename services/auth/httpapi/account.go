package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

type changeEmailInput struct{ newEmail, callbackURL string }

func parseChangeEmail(b body, v *validationErrors) changeEmailInput {
	var in changeEmailInput
	in.newEmail = zodEmail(b, v, "newEmail")
	in.callbackURL, _ = b.str(v, "callbackURL", false)
	return in
}

func (h *handler) changeEmail(c *gin.Context) {
	in, auth := inputOf[changeEmailInput](c), authOf(c)
	if err := h.checkCallbackURL(in.callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	changed, err := h.ids.ChangeEmail(c.Request.Context(), auth, in.newEmail, in.callbackURL)
	if err != nil {
		h.fail(c, err)
		return
	}
	if changed != nil { // Better Auth re-issues the session cookie with the new user
		h.cookies.setSession(c, auth.Session.Token, !h.dontRemember(c), h.ids.Policy().SessionTTL)
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

type deleteUserInput struct {
	password           *string
	token, callbackURL string
}

func parseDeleteUser(b body, v *validationErrors) deleteUserInput {
	var in deleteUserInput
	if pw, ok := b.str(v, "password", false); ok {
		in.password = &pw
	}
	in.token, _ = b.str(v, "token", false)
	in.callbackURL, _ = b.str(v, "callbackURL", false)
	return in
}

func (h *handler) deleteUser(c *gin.Context) {
	in, auth := inputOf[deleteUserInput](c), authOf(c)
	if err := h.checkCallbackURL(in.callbackURL); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.ids.DeleteUser(c.Request.Context(), auth, in.password, in.token); err != nil {
		h.fail(c, err)
		return
	}
	h.cookies.clearSession(c)
	c.JSON(http.StatusOK, gin.H{"success": true, "message": "User deleted"})
}
