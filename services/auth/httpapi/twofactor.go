package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/twofactor"
)

// The two-factor plugin's routes, bodies, cookies and answers (Better Auth
// 1.7.25, dist/plugins/two-factor). Mounted only with the plugin on.
func (h *handler) mountTwoFactor(api *gin.RouterGroup) {
	api.POST("/two-factor/enable", validated(h, objectShape, parseEnableTwoFactor), h.requireSession(false), h.enableTwoFactor)
	api.POST("/two-factor/disable", validated(h, objectShape, parsePasswordOnly), h.requireSession(false), h.disableTwoFactor)
	api.POST("/two-factor/get-totp-uri", validated(h, objectShape, parsePasswordOnly), h.requireSession(false), h.getTOTPURI)
	api.POST("/two-factor/generate-backup-codes", validated(h, objectShape, parsePasswordOnly), h.requireSession(false), h.generateBackupCodes)
	api.POST("/two-factor/verify-totp", validated(h, objectShape, parseVerifyCode), h.verifyTOTP)
	api.POST("/two-factor/send-otp", h.sendOTP)
	api.POST("/two-factor/verify-otp", validated(h, objectShape, parseVerifyCode), h.verifyOTP)
	api.POST("/two-factor/verify-backup-code", validated(h, objectShape, parseVerifyCode), h.verifyBackupCode)
}

func (j cookieJar) twoFactor() string   { return j.prefix + "two_factor" }
func (j cookieJar) trustDevice() string { return j.prefix + "trust_device" }

func (j cookieJar) expire(c *gin.Context, name string) {
	zero := 0
	j.write(c, name, "", &zero)
}

func (j cookieJar) setSigned(c *gin.Context, name, value string, maxAge time.Duration) {
	age := int(maxAge / time.Second)
	j.write(c, name, j.signed(value), &age)
}

// trustMAC is Better Auth's binding of a trust record to its user:
// base64url(HMAC-SHA256(secret, userId!trustId)), unpadded.
func (j cookieJar) trustMAC(userID, trustID string) string {
	mac := hmac.New(sha256.New, []byte(j.secret))
	mac.Write([]byte(userID + "!" + trustID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (j cookieJar) setTrust(c *gin.Context, userID, trustID string) {
	j.setSigned(c, j.trustDevice(), j.trustMAC(userID, trustID)+"!"+trustID, twofactor.TrustDeviceTTL)
}

// trustCookie reads the request's trust_device cookie: present reports a
// correctly signed one; trustID is its record's id when its MAC binds it to
// userID ("" otherwise).
func (h *handler) trustCookie(c *gin.Context, userID string) (trustID string, present bool) {
	raw, ok := requestCookies(c.Request)[h.cookies.trustDevice()]
	if !ok {
		return "", false
	}
	v, ok := signedcookie.Verify(raw, h.cookies.secret)
	if !ok {
		return "", false
	}
	mac, id, ok := strings.Cut(v, "!")
	if !ok || mac == "" || id == "" {
		return "", true
	}
	if !strings.HasPrefix(id, "trust-device-") || !hmac.Equal([]byte(mac), []byte(h.cookies.trustMAC(userID, id))) {
		return "", true
	}
	return id, true
}

// secondFactor runs after a good password of a 2FA user (Better Auth's
// after-hook on /sign-in/email). It answers the challenge itself
// (answered), or hands back the session a trusted device signed in to.
func (h *handler) secondFactor(c *gin.Context, user identity.User, remember bool) (trusted identity.Session, answered bool) {
	trustID, present := h.trustCookie(c, user.ID)
	ch, err := h.ids.BeginSecondFactor(c.Request.Context(), user, remember, clientOf(c.Request), trustID)
	if err != nil {
		h.fail(c, err)
		return identity.Session{}, true
	}
	if ch.Trusted {
		h.cookies.setTrust(c, user.ID, ch.NewTrustID) // rotated: the old cookie's record is gone
		return *ch.Session, false
	}
	if present {
		h.cookies.expire(c, h.cookies.trustDevice())
	}
	// Better Auth opened a session and deleted it again, and so expires its
	// cookies here; Latch opened none but sends the same headers.
	h.cookies.expire(c, h.cookies.sessionToken())
	h.cookies.expire(c, h.cookies.sessionData())
	if !remember { // verify reads it to open a browser-session session
		h.cookies.write(c, h.cookies.dontRemember(), h.cookies.signed("true"), nil)
	}
	h.cookies.setSigned(c, h.cookies.twoFactor(), ch.ChallengeID, twofactor.ChallengeTTL)
	c.JSON(http.StatusOK, gin.H{"twoFactorRedirect": true, "twoFactorMethods": ch.Methods})
	return identity.Session{}, true
}

type enableTwoFactorInput struct{ password, method, issuer string }

func parseEnableTwoFactor(b body, v *validationErrors) enableTwoFactorInput {
	var in enableTwoFactorInput
	in.password, _ = b.str(v, "password", true)
	in.method = "totp"
	if m, ok := b.str(v, "method", false); ok {
		if m != "otp" && m != "totp" {
			v.add("method", `Invalid option: expected one of "otp"|"totp"`)
		}
		in.method = m
	}
	in.issuer, _ = b.str(v, "issuer", false)
	return in
}

func (h *handler) enableTwoFactor(c *gin.Context) {
	in, auth := inputOf[enableTwoFactorInput](c), authOf(c)
	res, err := h.ids.EnableTwoFactor(c.Request.Context(), auth, in.password, in.method, in.issuer, clientOf(c.Request))
	if err != nil {
		h.fail(c, err)
		return
	}
	if res.Method == "otp" {
		h.cookies.setSession(c, res.Session.Token, !h.dontRemember(c), h.ids.Policy().SessionTTL)
		c.JSON(http.StatusOK, gin.H{"method": "otp"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"method": "totp", "totpURI": res.TOTPURI, "backupCodes": res.BackupCodes})
}

func parsePasswordOnly(b body, v *validationErrors) string {
	pw, _ := b.str(v, "password", true)
	return pw
}

func (h *handler) disableTwoFactor(c *gin.Context) {
	password, auth := inputOf[string](c), authOf(c)
	trustID, present := h.trustCookie(c, auth.User.ID)
	_, sess, err := h.ids.DisableTwoFactor(c.Request.Context(), auth, password, trustID, clientOf(c.Request))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.cookies.setSession(c, sess.Token, !h.dontRemember(c), h.ids.Policy().SessionTTL)
	if present {
		h.cookies.expire(c, h.cookies.trustDevice())
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

func (h *handler) getTOTPURI(c *gin.Context) {
	uri, err := h.ids.TOTPURI(c.Request.Context(), authOf(c).User, inputOf[string](c))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"totpURI": uri})
}

func (h *handler) generateBackupCodes(c *gin.Context) {
	codes, err := h.ids.GenerateBackupCodes(c.Request.Context(), authOf(c).User, inputOf[string](c))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true, "backupCodes": codes})
}

type verifyCodeInput struct {
	code, password              string
	trustDevice, disableSession bool
}

func parseVerifyCode(b body, v *validationErrors) verifyCodeInput {
	var in verifyCodeInput
	in.code, _ = b.str(v, "code", true)
	in.trustDevice = b.boolean(v, "trustDevice", false)
	in.disableSession = b.boolean(v, "disableSession", false)
	in.password, _ = b.str(v, "password", false) // Latch: verify-otp's enrolment without a fresh session
	return in
}

// factor finds who is verifying: a signed-in user, else the pending sign-in
// the two_factor cookie names (Better Auth's verifyTwoFactor).
func (h *handler) factor(c *gin.Context, trustDevice bool) (identity.Factor, error) {
	ctx := c.Request.Context()
	if token, signed := h.sessionToken(c, requestCookies(c.Request)); signed {
		auth, err := h.ids.Authenticate(ctx, token, identity.SessionOptions{NoRefresh: h.dontRemember(c)})
		if err == nil {
			c.Set(userIDKey, auth.User.ID)
			return identity.Factor{User: auth.User, Session: &auth.Session, Client: clientOf(c.Request)}, nil
		}
		if !errors.Is(err, identity.ErrUnauthenticated) {
			return identity.Factor{}, err
		}
	}
	raw, ok := requestCookies(c.Request)[h.cookies.twoFactor()]
	if !ok {
		return identity.Factor{}, identity.ErrInvalidTwoFactorCookie
	}
	challenge, ok := signedcookie.Verify(raw, h.cookies.secret)
	// Only challenge ids name challenges: any other value this secret signed
	// (a session token, a trust record) is not looked up as one.
	if !ok || !strings.HasPrefix(challenge, "2fa-") {
		return identity.Factor{}, identity.ErrInvalidTwoFactorCookie
	}
	user, err := h.ids.ResolveChallenge(ctx, challenge)
	if err != nil {
		return identity.Factor{}, err
	}
	c.Set(userIDKey, user.ID)
	return identity.Factor{
		User: user, Challenge: challenge, RememberMe: !h.dontRemember(c),
		TrustDevice: trustDevice, Client: clientOf(c.Request),
	}, nil
}

func (h *handler) verifyTOTP(c *gin.Context) {
	in := inputOf[verifyCodeInput](c)
	f, err := h.factor(c, in.trustDevice)
	if err != nil {
		h.fail(c, err)
		return
	}
	res, err := h.ids.VerifyTOTP(c.Request.Context(), f, in.code)
	h.factorDone(c, f, res, err)
}

func (h *handler) verifyOTP(c *gin.Context) {
	in := inputOf[verifyCodeInput](c)
	f, err := h.factor(c, in.trustDevice)
	if err != nil {
		h.fail(c, err)
		return
	}
	res, err := h.ids.VerifyOTP(c.Request.Context(), f, in.code, in.password)
	h.factorDone(c, f, res, err)
}

func (h *handler) verifyBackupCode(c *gin.Context) {
	in := inputOf[verifyCodeInput](c)
	f, err := h.factor(c, in.trustDevice)
	if err != nil {
		h.fail(c, err)
		return
	}
	res, err := h.ids.VerifyBackupCode(c.Request.Context(), f, in.code, in.disableSession)
	h.factorDone(c, f, res, err)
}

// sendOTP's body is optional ({trustDevice?}); anything but an object or
// nothing is a validation error.
func (h *handler) sendOTP(c *gin.Context) {
	if v, present := c.Get(bodyKey); present && v != nil {
		b, err := bodyObject(c, objectShape)
		if err != nil {
			h.fail(c, err)
			return
		}
		var verr validationErrors
		b.boolean(&verr, "trustDevice", false)
		if err := verr.err(); err != nil {
			h.fail(c, err)
			return
		}
	}
	f, err := h.factor(c, false)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.ids.SendOTP(c.Request.Context(), f); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": true})
}

// factorDone answers a verification: {token, user}, with the session
// cookie when a session was opened or replaced, and the trust cookie.
func (h *handler) factorDone(c *gin.Context, f identity.Factor, res identity.FactorResult, err error) {
	signIn := f.Session == nil
	if err != nil {
		if signIn && (errors.Is(err, identity.ErrTooManyAttempts) || errors.Is(err, identity.ErrInvalidTwoFactorCookie)) {
			h.cookies.expire(c, h.cookies.twoFactor())
		}
		h.fail(c, err)
		return
	}
	if res.NewSession {
		remember := !h.dontRemember(c)
		if signIn {
			remember = f.RememberMe
		}
		h.cookies.setSession(c, res.Session.Token, remember, h.ids.Policy().SessionTTL)
	}
	if signIn && res.Session != nil {
		h.cookies.expire(c, h.cookies.twoFactor())
	}
	if res.TrustID != "" {
		h.cookies.setTrust(c, res.User.ID, res.TrustID)
		h.cookies.expire(c, h.cookies.dontRemember())
	}
	out := gin.H{"user": h.renderUser(res.User)}
	if res.Session != nil {
		out["token"] = res.Session.Token
	}
	c.JSON(http.StatusOK, out)
}
