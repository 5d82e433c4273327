package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch/services/auth/identity"
	latchmail "github.com/latchid/latch/services/auth/mail"
	"github.com/latchid/latch/services/auth/mail/mailtest"
)

// mailSeeds are recipients, subjects and bodies that try to smuggle
// headers, recipients or whole SMTP commands through each field.
func addMailSeeds(f *testing.F) {
	f.Add(resetMail.To, resetMail.Subject, resetMail.Text, resetMail.HTML)
	f.Add("ann@example.com\r\nBcc: eve@evil.example", "Reset", "x", "y")
	f.Add("Ann <ann@example.com>", "Reset\r\nBcc: eve@evil.example", "x", "y")
	f.Add("\"Ann\r\nBcc: eve@evil.example\" <ann@example.com>", "s", "t", "h")
	f.Add("ann@example.com>\r\nRCPT TO:<eve@evil.example", "s", "t", "h")
	f.Add("=?utf-8?q?Ann=0D=0ABcc:_eve@evil.example?= <ann@example.com>", "s", "t", "h")
	f.Add("ann@example.com", "s", "line\r\n.\r\nMAIL FROM:<eve@evil.example>\r\n", ".\n.\r\n.")
	f.Add("ann@example.com", "=?utf-8?q?=0D=0ABcc:_eve?=", "\r", "\n")
	f.Add("ann@example.com", strings.Repeat("ü", 200), strings.Repeat("x", 1000), "\x00\xff")
}

// FuzzSMTPSend: whatever recipient, subject and bodies Send is given, the
// server receives either nothing or exactly one message: one MAIL, one RCPT
// (to the one address the recipient parses as), one DATA, whose header is
// exactly the seven headers compose writes, each line ending in CRLF, and
// whose subject and bodies arrive as they were sent. No CR or LF ever
// reaches a command line or starts a header of its own.
func FuzzSMTPSend(f *testing.F) {
	addMailSeeds(f)
	srv := mailtest.Start(f, mailtest.Options{})
	s, err := latchmail.ParseSMTPURL("smtp://"+srv.Addr, "Latch <no-reply@latch.test>")
	if err != nil {
		f.Fatal(err)
	}
	wantHeaders := []string{"Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
	f.Fuzz(func(t *testing.T, to, subject, text, html string) {
		before, sent := len(srv.Commands()), len(srv.Messages())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.Send(ctx, identity.Mail{To: to, Subject: subject, Text: text, HTML: html})
		commands := srv.Commands()[before:]
		msgs := srv.Messages()[sent:]
		var verbs []string
		for _, c := range commands {
			verb, _, _ := strings.Cut(c, " ")
			verbs = append(verbs, verb)
		}
		if err != nil {
			if len(msgs) != 0 {
				t.Fatalf("Send(%q) failed (%v) yet the server accepted %d messages", to, err, len(msgs))
			}
			if slices.Contains(verbs, "RCPT") && !slices.Equal(verbs, []string{"EHLO", "MAIL", "RCPT"}) && !slices.Equal(verbs, []string{"EHLO", "MAIL", "RCPT", "DATA"}) {
				t.Fatalf("Send(%q) failed after sending %q", to, commands)
			}
			return
		}
		if !slices.Equal(verbs, []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}) || len(msgs) != 1 {
			t.Fatalf("Send(%q, %q) made the server see %q and %d messages", to, subject, commands, len(msgs))
		}
		addr, err := mail.ParseAddress(to)
		if err != nil {
			t.Fatalf("Send accepted recipient %q, which does not parse: %v", to, err)
		}
		m := msgs[0]
		if m.To != addr.Address || strings.ContainsAny(m.To, "\r\n") {
			t.Fatalf("recipient %q went out as RCPT %q, want %q", to, m.To, addr.Address)
		}
		head, _, found := bytes.Cut(m.Raw, []byte("\r\n\r\n"))
		if !found {
			t.Fatalf("message for %q has no header/body separator: %q", to, m.Raw)
		}
		var names []string
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("a bare CR or LF in header line %q (recipient %q, subject %q)", line, to, subject)
			}
			if line != "" && (line[0] == ' ' || line[0] == '\t') {
				continue // a folded continuation of the header before
			}
			name, _, _ := strings.Cut(line, ":")
			names = append(names, name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Content-Type", "Date", "From", "MIME-Version", "Message-ID", "Subject", "To"}) {
			t.Fatalf("headers %q, want exactly compose's seven (recipient %q, subject %q)", names, to, subject)
		}
		var got []string
		for name := range m.HeaderLines {
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, wantHeaders) {
			t.Fatalf("the receiver reads headers %q (recipient %q, subject %q)", got, to, subject)
		}
		headerTo, err := mail.ParseAddress(m.HeaderLines.Get("To"))
		if err != nil || headerTo.Address != addr.Address {
			t.Fatalf("To header %q reads as %v (%v), want %q", m.HeaderLines.Get("To"), headerTo, err, addr.Address)
		}
		// A subject that is itself an encoded word ("=?utf-8?q?…?=") goes out
		// as it is, so the receiver decodes it: subjects are Latch's own
		// constants, so that is left alone (see docs/fuzzing.md).
		if utf8.ValidString(subject) && !strings.Contains(subject, "=?") && m.Subject != subject {
			t.Fatalf("subject %q arrived as %q", subject, m.Subject)
		}
		if !strings.Contains(text+html, "\r") && (m.Text != text || m.HTML != html) {
			t.Fatalf("bodies changed in transit:\ntext %q -> %q\nhtml %q -> %q", text, m.Text, html, m.HTML)
		}
	})
}

// FuzzOutboxSend: every mail is one line of the outbox, holding one JSON
// object with exactly to, subject, text and html, which read back as sent
// (for valid UTF-8; JSON replaces the rest with U+FFFD).
func FuzzOutboxSend(f *testing.F) {
	addMailSeeds(f)
	f.Add("ann@example.com", "\u2028\u2029", "</script>&", "\x7f\x1b[31m")
	path := filepath.Join(f.TempDir(), "outbox.jsonl")
	o, err := latchmail.NewOutbox(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, to, subject, text, html string) {
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Send(context.Background(), identity.Mail{To: to, Subject: subject, Text: text, HTML: html}); err != nil {
			t.Fatal(err)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		line, ok := bytes.CutPrefix(after, before)
		if !ok || len(line) == 0 || line[len(line)-1] != '\n' || bytes.Count(line, []byte("\n")) != 1 || bytes.ContainsRune(line, '\r') {
			t.Fatalf("Send(%q, %q, …) appended %q: not one line", to, subject, line)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var got struct{ To, Subject, Text, HTML *string }
		if err := dec.Decode(&got); err != nil || got.To == nil || got.Subject == nil || got.Text == nil || got.HTML == nil {
			t.Fatalf("line %q is not the JSON object {to, subject, text, html}: %v", line, err)
		}
		for _, f := range []struct{ name, sent, read string }{
			{"to", to, *got.To}, {"subject", subject, *got.Subject}, {"text", text, *got.Text}, {"html", html, *got.HTML},
		} {
			if f.read != strings.ToValidUTF8(f.sent, "\uFFFD") && utf8.ValidString(f.sent) {
				t.Fatalf("%s %q reads back as %q", f.name, f.sent, f.read)
			}
		}
	})
}
