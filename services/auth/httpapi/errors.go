package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/signing"
)

// apiError is Better Auth's error body: {message, code}. A code may be
// empty: Better Auth answers a few errors with a message alone.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// Errors with Better Auth's status, code and message, so its client reads
// them as it reads Better Auth's own.
var (
	errUnauthorized              = newError(http.StatusUnauthorized, "UNAUTHORIZED", "Unauthorized")
	errInvalidJSON               = newError(http.StatusBadRequest, "BAD_REQUEST", "Invalid JSON in request body")
	errBodyTooLarge              = newError(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Request body is too large")
	errMissingOrigin             = newError(http.StatusForbidden, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin")
	errInvalidOrigin             = newError(http.StatusForbidden, "INVALID_ORIGIN", "Invalid origin")
	errInvalidCallbackURL        = newError(http.StatusForbidden, "INVALID_CALLBACK_URL", "Invalid callbackURL")
	errCrossSiteNavigation       = newError(http.StatusForbidden, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED", "Cross-site navigation login blocked. This request appears to be a CSRF attack.")
	errDeferRefresh              = newError(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED", "POST method requires deferSessionRefresh to be enabled in session config")
	errUnavailable               = newError(http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please try again shortly.")
	errInvalidRedirectURL        = newError(http.StatusForbidden, "INVALID_REDIRECT_URL", "Invalid redirectURL")
	errInvalidErrorCallbackURL   = newError(http.StatusForbidden, "INVALID_ERROR_CALLBACK_URL", "Invalid errorCallbackURL")
	errInvalidNewUserCallbackURL = newError(http.StatusForbidden, "INVALID_NEW_USER_CALLBACK_URL", "Invalid newUserCallbackURL")
	errIDTokenNotSupported       = newError(http.StatusNotFound, "ID_TOKEN_NOT_SUPPORTED", "id_token not supported")
	// errEmptyNotFound is Better Auth's bare 404: no body (a disabled route).
	errEmptyNotFound = newError(http.StatusNotFound, "", "")
	errInternal      = newError(http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Internal Server Error")
)

// domainErrors maps each identity rule's error to its Better Auth answer.
var domainErrors = map[error]*apiError{
	identity.ErrInvalidEmail:              newError(http.StatusBadRequest, "INVALID_EMAIL", "Invalid email"),
	identity.ErrPasswordTooShort:          newError(http.StatusBadRequest, "PASSWORD_TOO_SHORT", "Password too short"),
	identity.ErrPasswordTooLong:           newError(http.StatusBadRequest, "PASSWORD_TOO_LONG", "Password too long"),
	identity.ErrUserExists:                newError(http.StatusUnprocessableEntity, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email."),
	identity.ErrInvalidCredentials:        newError(http.StatusUnauthorized, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password"),
	identity.ErrInvalidPassword:           newError(http.StatusBadRequest, "INVALID_PASSWORD", "Invalid password"),
	identity.ErrCredentialAccountNotFound: newError(http.StatusBadRequest, "CREDENTIAL_ACCOUNT_NOT_FOUND", "Credential account not found"),
	identity.ErrUnauthenticated:           errUnauthorized,
	identity.ErrSessionNotFresh:           newError(http.StatusForbidden, "SESSION_NOT_FRESH", "Session is not fresh"),
	identity.ErrEmailCannotBeUpdated:      newError(http.StatusBadRequest, "EMAIL_CAN_NOT_BE_UPDATED", "Email can not be updated"),
	identity.ErrNoFieldsToUpdate:          newError(http.StatusBadRequest, "", "No fields to update"),

	identity.ErrVerificationEmailNotEnabled: newError(http.StatusBadRequest, "VERIFICATION_EMAIL_NOT_ENABLED", "Verification email isn't enabled"),
	identity.ErrResetPasswordDisabled:       newError(http.StatusBadRequest, "RESET_PASSWORD_DISABLED", "Reset password isn't enabled"),
	identity.ErrEmailMismatch:               newError(http.StatusBadRequest, "EMAIL_MISMATCH", "Email mismatch"),
	identity.ErrEmailAlreadyVerified:        newError(http.StatusBadRequest, "EMAIL_ALREADY_VERIFIED", "Email is already verified"),
	identity.ErrEmailNotVerified:            newError(http.StatusForbidden, "EMAIL_NOT_VERIFIED", "Email not verified"),
	identity.ErrInvalidToken:                newError(http.StatusBadRequest, "INVALID_TOKEN", "Invalid token"),
	identity.ErrTokenExpired:                newError(http.StatusUnauthorized, "TOKEN_EXPIRED", "Token expired"),
	identity.ErrUserNotFound:                newError(http.StatusBadRequest, "USER_NOT_FOUND", "User not found"),
	// Social sign-in and account linking, then the account changes.
	identity.ErrOAuthIDToken:        newError(http.StatusUnauthorized, "INVALID_TOKEN", "Invalid token"),
	identity.ErrUserEmailNotFound:   newError(http.StatusUnauthorized, "USER_EMAIL_NOT_FOUND", "User email not found"),
	identity.ErrProviderNotFound:    newError(http.StatusNotFound, "PROVIDER_NOT_FOUND", "Provider not found"),
	identity.ErrLastAccount:         newError(http.StatusBadRequest, "FAILED_TO_UNLINK_LAST_ACCOUNT", "You can't unlink your last account"),
	identity.ErrAccountNotFound:     newError(http.StatusBadRequest, "ACCOUNT_NOT_FOUND", "Account not found"),
	identity.ErrChangeEmailDisabled: newError(http.StatusBadRequest, "CHANGE_EMAIL_DISABLED", "Change email is disabled"),
	identity.ErrEmailIsTheSame:      newError(http.StatusBadRequest, "", "Email is the same"),
	identity.ErrNoEmailChangeFlow:   newError(http.StatusBadRequest, "", "Verification email isn't enabled"),
	identity.ErrDeleteUserDisabled:  errEmptyNotFound,
	identity.ErrDeleteTokenInvalid:  newError(http.StatusNotFound, "INVALID_TOKEN", "Invalid token"),
	identity.ErrSessionExpired:      newError(http.StatusBadRequest, "SESSION_EXPIRED", "Session expired. Re-authenticate to perform this action."),
	identity.ErrInvalidUser:         newError(http.StatusBadRequest, "INVALID_USER", "Invalid user"),
	// Not Better Auth's: it has no answer for a mail server that is down.
	// 503 says "try again", and is given for every address alike.
	identity.ErrMailUnavailable: newError(http.StatusServiceUnavailable, "MAIL_UNAVAILABLE", "Mail could not be sent. Please try again later."),

	// The two-factor plugin's (TWO_FACTOR_ERROR_CODES).
	identity.ErrTwoFactorNotEnabled:    newError(http.StatusBadRequest, "TWO_FACTOR_NOT_ENABLED", "Two factor isn't enabled"),
	identity.ErrTOTPNotEnabled:         newError(http.StatusBadRequest, "TOTP_NOT_ENABLED", "TOTP not enabled"),
	identity.ErrTOTPAlreadyEnabled:     newError(http.StatusBadRequest, "TOTP_ALREADY_ENABLED", "TOTP is already enabled"),
	identity.ErrBackupCodesNotEnabled:  newError(http.StatusBadRequest, "BACKUP_CODES_NOT_ENABLED", "Backup codes aren't enabled"),
	identity.ErrInvalidCode:            newError(http.StatusUnauthorized, "INVALID_CODE", "Invalid code"),
	identity.ErrInvalidBackupCode:      newError(http.StatusUnauthorized, "INVALID_BACKUP_CODE", "Invalid backup code"),
	identity.ErrOTPExpired:             newError(http.StatusBadRequest, "OTP_HAS_EXPIRED", "OTP has expired"),
	identity.ErrTooManyAttempts:        newError(http.StatusBadRequest, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE", "Too many attempts. Please request a new code."),
	identity.ErrAccountLocked:          newError(http.StatusTooManyRequests, "ACCOUNT_TEMPORARILY_LOCKED", "Too many failed verification attempts. Your account is temporarily locked. Please try again later."),
	identity.ErrInvalidTwoFactorCookie: newError(http.StatusUnauthorized, "INVALID_TWO_FACTOR_COOKIE", "Invalid two factor cookie"),
	identity.ErrFailedToCreateSession:  newError(http.StatusBadRequest, "FAILED_TO_CREATE_SESSION", "Failed to create session"),
	identity.ErrBackupCodeConflict:     newError(http.StatusConflict, "", "Failed to verify backup code. Please try again."),
	identity.ErrOTPNotConfigured:       newError(http.StatusBadRequest, "OTP_NOT_CONFIGURED", "otp isn't configured"),
	identity.ErrTwoFactorOff:           errEmptyNotFound,
	// The handler checks the limit first; a query the rules still refuse is the request's fault.
	audit.ErrInvalidQuery: newError(http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input"),
}

// verifyEmailError is verify-email's variant: Better Auth answers its token
// problems 401 (and redirects them as ?error=CODE); nil for other errors.
func verifyEmailError(err error) *apiError {
	for _, target := range []error{identity.ErrInvalidToken, identity.ErrTokenExpired, identity.ErrUserNotFound, identity.ErrInvalidUser} {
		if errors.Is(err, target) {
			e := *domainErrors[target]
			e.Status = http.StatusUnauthorized
			return &e
		}
	}
	return nil
}

// fail answers err in Better Auth's shape. Store outages become 503 (the
// client may retry; the pool reconnects by itself); anything unexpected is
// logged here, once, and answered 500 without detail.
func (h *handler) fail(c *gin.Context, err error) {
	var (
		api     *apiError
		invalid *validationErrors
		linkErr *identity.OAuthLinkError
	)
	switch {
	case errors.As(err, &api):
	case errors.As(err, &invalid):
		api = newError(http.StatusBadRequest, "VALIDATION_ERROR", invalid.Error())
	case errors.As(err, &linkErr):
		api = newError(http.StatusUnauthorized, "OAUTH_LINK_ERROR", linkErr.Message)
	case errors.Is(err, context.Canceled):
		c.Abort() // the client left; nobody reads an answer
		return
	case errors.Is(err, identity.ErrInvalidData):
		h.log.WarnContext(c.Request.Context(), "store refused the data", "err", err, "route", c.FullPath())
		api = newError(http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input")
	case errors.Is(err, identity.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.log.ErrorContext(c.Request.Context(), "store unavailable", "err", err, "route", c.FullPath())
		c.Header("Retry-After", "1")
		api = errUnavailable
	default:
		for target, mapped := range domainErrors {
			if errors.Is(err, target) {
				api = mapped
				break
			}
		}
		if errors.Is(err, identity.ErrMailUnavailable) {
			h.log.ErrorContext(c.Request.Context(), "mail not sent", "err", err, "route", c.FullPath())
			c.Header("Retry-After", "30")
		}
		if api == nil && errors.Is(err, signing.ErrNoKey) {
			api = errUnavailable
		}
		if api == nil {
			h.log.ErrorContext(c.Request.Context(), "request failed", "err", err, "route", c.FullPath())
			api = errInternal
		}
	}
	if api == errEmptyNotFound {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	c.AbortWithStatusJSON(api.Status, api)
}
