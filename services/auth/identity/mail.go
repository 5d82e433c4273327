package identity

import (
	"context"
	"errors"
	"fmt"
	"html"
)

// Mail is one message to one person: a plain-text body holding the link
// exactly as Better Auth builds it, and the same content as HTML.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// OTP is the one-time code a two-factor mail carries, for the outbox
	// (tests and people find it without parsing the text).
	OTP string
	// InvitationID and Link name an organization invitation and its accept
	// URL in an invitation mail, for the outbox as OTP is.
	InvitationID string
	Link         string
}

// Mailer delivers the account flows' mails (an SMTP server, or the
// development outbox file).
type Mailer interface {
	// Send returns nil only once the mail is accepted for delivery.
	Send(ctx context.Context, m Mail) error
	// Check reports whether Send could deliver now, without sending: the
	// flows that must not reveal whether an address exists call it when they
	// have nothing to send, so an outage answers every address alike.
	Check(ctx context.Context) error
}

// ErrMailUnavailable is the mail server refusing or not answering. The
// request fails (transports answer 503) rather than claiming a mail it lost.
var ErrMailUnavailable = errors.New("mail server unavailable")

func (s *Service) sendMail(ctx context.Context, m Mail) error {
	if err := s.mail.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("%w: %w", ErrMailUnavailable, err)
	}
	return nil
}

func (s *Service) checkMail(ctx context.Context) error {
	if err := s.mail.mailer.Check(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrMailUnavailable, err)
	}
	return nil
}

func verificationMail(to, link string) Mail {
	return linkMail(to, "Verify your email address",
		"Confirm that this is your email address by opening the link below.", link)
}

func resetPasswordMail(to, link string) Mail {
	return linkMail(to, "Reset your password",
		"Someone asked to reset the password of your account. If it was you, open the link below; it works once, for a limited time. If it was not, ignore this mail.", link)
}

func linkMail(to, subject, intro, link string) Mail {
	return Mail{
		To:      to,
		Subject: subject,
		Text:    intro + "\n\n" + link + "\n",
		HTML: "<p>" + html.EscapeString(intro) + `</p><p><a href="` + html.EscapeString(link) + `">` +
			html.EscapeString(subject) + "</a></p>",
	}
}

// InvitationMail invites to to join an organization: the invitation's id
// and the link that accepts it.
func InvitationMail(to, inviter, organization, invitationID, link string) Mail {
	m := linkMail(to, "You are invited to join "+organization,
		inviter+" invited you to join "+organization+". Open the link below to accept; the invitation id is "+invitationID+".", link)
	m.InvitationID, m.Link = invitationID, link
	return m
}
