// Package mail delivers the account mails (verification, password reset):
// over SMTP in production, or appended to a local outbox file in development
// and tests, where a person or a test reads the links back.
package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/latchid/latch/services/auth/identity"
)

// Outbox appends every mail to a file, one JSON object per line with the
// members to, subject, text and html. It stands in for a mail server when
// there is none, so `make run` can be walked through by hand.
type Outbox struct {
	path string
	mu   sync.Mutex // one line per write, never interleaved
}

// NewOutbox returns an outbox appending to path, creating its directory.
func NewOutbox(path string) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("mail outbox: %w", err)
	}
	o := &Outbox{path: path}
	if err := o.Check(context.Background()); err != nil {
		return nil, err
	}
	return o, nil
}

// Path is the file the outbox appends to.
func (o *Outbox) Path() string { return o.path }

type outboxLine struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	OTP     string `json:"otp,omitempty"`
	// InvitationID and Link: an organization invitation mail's.
	InvitationID string `json:"invitationId,omitempty"`
	Link         string `json:"link,omitempty"`
}

// Send appends m as one line and syncs it, so a mail reported sent is on disk.
func (o *Outbox) Send(_ context.Context, m identity.Mail) error {
	// No HTML escaping: the links stay as they are (& not \u0026), for grep and for people.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(outboxLine{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, OTP: m.OTP, InvitationID: m.InvitationID, Link: m.Link}); err != nil {
		return err
	}
	line := buf.Bytes() // Encode ends it with a newline
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		_ = f.Close()
		return fmt.Errorf("mail outbox: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("mail outbox: %w", err)
	}
	return f.Close()
}

// Check reports whether the outbox file can be appended to.
func (o *Outbox) Check(context.Context) error {
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	return f.Close()
}

// String names the outbox in logs.
func (o *Outbox) String() string { return "outbox " + o.path }
