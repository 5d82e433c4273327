package organization

// Kind says what sort of refusal an Error is; transports choose the status
// (Better Auth answers the same code 400, 401 or 403 depending on the route,
// so the kind travels with the code).
type Kind int

const (
	// Invalid is a request that cannot be carried out (400).
	Invalid Kind = iota
	// Forbidden is a caller who may not do this (403).
	Forbidden
	// Unauthorized is Better Auth's 401 for some refusals of a signed-in caller.
	Unauthorized
	// NotFound is a missing resource Better Auth answers 404.
	NotFound
)

// Error is a refusal with Better Auth's code and message
// (dist/plugins/organization/error-codes.mjs). Code may be empty: Better
// Auth answers a few refusals with a message alone.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// messages are ORGANIZATION_ERROR_CODES' messages for the codes these rules use.
var messages = map[string]string{
	"ORGANIZATION_ALREADY_EXISTS":                              "Organization already exists",
	"ORGANIZATION_SLUG_ALREADY_TAKEN":                          "Organization slug already taken",
	"ORGANIZATION_NOT_FOUND":                                   "Organization not found",
	"USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION":                 "User is not a member of the organization",
	"YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION":          "You are not allowed to update this organization",
	"YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION":          "You are not allowed to delete this organization",
	"NO_ACTIVE_ORGANIZATION":                                   "No active organization",
	"USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION":            "User is already a member of this organization",
	"MEMBER_NOT_FOUND":                                         "Member not found",
	"ROLE_NOT_FOUND":                                           "Role not found",
	"YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER":      "You cannot leave the organization as the only owner",
	"YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER":       "You cannot leave the organization without an owner",
	"YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER":                "You are not allowed to delete this member",
	"YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION": "You are not allowed to invite users to this organization",
	"USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION":             "User is already invited to this organization",
	"INVITATION_NOT_FOUND":                                     "Invitation not found",
	"YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION":              "You are not the recipient of the invitation",
	"EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION":               "Email verification required to view or list invitations for the session email",
	"YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION":            "You are not allowed to cancel this invitation",
	"YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS":                  "You are not allowed to list invitations for this organization",
	"INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION":        "Inviter is no longer a member of the organization",
	"YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE":        "You are not allowed to invite a user with this role",
	"YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER":                "You are not allowed to update this member",
	"ORGANIZATION_MEMBERSHIP_LIMIT_REACHED":                    "Organization membership limit reached",
	"INVITATION_LIMIT_REACHED":                                 "Invitation limit reached",
	"YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION":                "You are not a member of this organization",
	"INVALID_EMAIL":  "Invalid email",
	"USER_NOT_FOUND": "User not found",
}

// refuse is the refusal of kind with code and Better Auth's message for it.
func refuse(kind Kind, code string) *Error {
	return &Error{Kind: kind, Code: code, Message: messages[code]}
}

// bare is a refusal Better Auth answers with a message and no code.
func bare(kind Kind, message string) *Error { return &Error{Kind: kind, Message: message} }
