package mail_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/mail"
	"github.com/latchid/latch/services/auth/mail/mailtest"
)

var resetMail = identity.Mail{
	To: "ann@example.com", Subject: "Reset your password — Latch",
	Text: "Open http://localhost:3001/api/auth/reset-password/abc?callbackURL=%2Freset\n",
	HTML: `<p><a href="http://localhost:3001/api/auth/reset-password/abc?callbackURL=%2Freset">Reset</a></p>`,
}

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     mailtest.Options
		userinfo string
		wantTLS  bool
	}{
		{"over STARTTLS with AUTH PLAIN", mailtest.Options{STARTTLS: true, User: "latch", Pass: "s3cret"}, "latch:s3cret@", true},
		{"in clear to a loopback relay without STARTTLS", mailtest.Options{}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.Start(t, tc.opts)
			s, err := mail.ParseSMTPURL("smtp://"+tc.userinfo+srv.Addr, "Latch <no-reply@latch.test>")
			if err != nil {
				t.Fatal(err)
			}
			s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := s.Send(ctx, resetMail); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.To != "ann@example.com" || m.From != "no-reply@latch.test" || m.Subject != resetMail.Subject {
				t.Errorf("envelope/subject = %q %q %q", m.From, m.To, m.Subject)
			}
			if m.Text != resetMail.Text || m.HTML != resetMail.HTML {
				t.Errorf("bodies changed in transit:\ntext %q\nhtml %q", m.Text, m.HTML)
			}
			if m.UsedTLS != tc.wantTLS || m.AuthedAs != tc.opts.User {
				t.Errorf("TLS %v auth %q, want %v %q", m.UsedTLS, m.AuthedAs, tc.wantTLS, tc.opts.User)
			}
		})
	}
}

func TestSMTPFailuresAreErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T) (*mail.SMTP, *mailtest.Server)
		wantErr string
	}{
		{"server down", func(t *testing.T) (*mail.SMTP, *mailtest.Server) {
			s, _ := mail.ParseSMTPURL("smtp://"+testdb.RefusedAddr(t), "no-reply@latch.test")
			return s, nil
		}, "connect"},
		{"wrong password", func(t *testing.T) (*mail.SMTP, *mailtest.Server) {
			srv := mailtest.Start(t, mailtest.Options{STARTTLS: true, User: "latch", Pass: "right"})
			s, _ := mail.ParseSMTPURL("smtp://latch:wrong@"+srv.Addr, "no-reply@latch.test")
			s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs}
			return s, srv
		}, "AUTH"},
		{"STARTTLS required but not offered", func(t *testing.T) (*mail.SMTP, *mailtest.Server) {
			srv := mailtest.Start(t, mailtest.Options{})
			s, _ := mail.ParseSMTPURL("smtp://"+srv.Addr, "no-reply@latch.test")
			s.RequireTLS = true // as for any non-loopback host
			return s, srv
		}, "STARTTLS"},
		{"untrusted certificate", func(t *testing.T) (*mail.SMTP, *mailtest.Server) {
			srv := mailtest.Start(t, mailtest.Options{STARTTLS: true})
			s, _ := mail.ParseSMTPURL("smtp://"+srv.Addr, "no-reply@latch.test")
			return s, srv
		}, "STARTTLS"},
		{"message rejected at the final dot", func(t *testing.T) (*mail.SMTP, *mailtest.Server) {
			srv := mailtest.Start(t, mailtest.Options{RejectData: true})
			s, _ := mail.ParseSMTPURL("smtp://"+srv.Addr, "no-reply@latch.test")
			return s, srv
		}, "554"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, srv := tc.setup(t)
			s.Timeout = 5 * time.Second
			err := s.Send(context.Background(), resetMail)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Send = %v, want an error mentioning %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "right") {
				t.Errorf("error %q reveals a password", err)
			}
			if srv != nil && len(srv.Messages()) != 0 {
				t.Errorf("server kept %d messages", len(srv.Messages()))
			}
		})
	}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, from  string
		ok         bool
		requireTLS bool
	}{
		{"smtp://u:p@mail.example.com:587", "no-reply@example.com", true, true},
		{"smtp://127.0.0.1:2525", "no-reply@example.com", true, false},
		{"smtps://u:p@mail.example.com", "Latch <no-reply@example.com>", true, true},
		{"http://mail.example.com", "no-reply@example.com", false, false},
		{"smtp://:587", "no-reply@example.com", false, false},
		{"smtp://mail.example.com", "not an address", false, false},
	}
	for _, tc := range tests {
		s, err := mail.ParseSMTPURL(tc.raw, tc.from)
		if (err == nil) != tc.ok {
			t.Errorf("ParseSMTPURL(%q, %q) error = %v, want ok=%v", tc.raw, tc.from, err, tc.ok)
			continue
		}
		if err == nil && s.RequireTLS != tc.requireTLS {
			t.Errorf("%s: RequireTLS = %v, want %v", tc.raw, s.RequireTLS, tc.requireTLS)
		}
		if err == nil && strings.Contains(s.String(), ":p@") {
			t.Errorf("String() %q shows the password", s.String())
		}
	}
}

func TestOutboxAppendsOneJSONLinePerMail(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "outbox.jsonl")
	o, err := mail.NewOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.Send(context.Background(), resetMail); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line map[string]string
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		want := map[string]string{"to": resetMail.To, "subject": resetMail.Subject, "text": resetMail.Text, "html": resetMail.HTML}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("line %d %s = %q, want %q", n+1, k, line[k], v)
			}
		}
		n++
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "?callbackURL=%2Freset") || strings.Contains(string(raw), `\u003c`) {
		t.Errorf("links are escaped in the file: %.200s", raw)
	}
	if n != 20 {
		t.Errorf("%d lines, want 20", n)
	}
}

func TestOutboxInAnUnwritablePlaceFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.NewOutbox(filepath.Join(blocker, "outbox.jsonl")); err == nil {
		t.Fatal("NewOutbox under a regular file succeeded")
	}
}
