package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/latchid/latch/services/auth/identity"
)

// SMTP sends mail through a submission server. smtp://user:pass@host:587
// speaks plain SMTP upgraded with STARTTLS; smtps://…:465 is TLS from the
// first byte. STARTTLS is required (so credentials and reset links never
// cross the network in clear) unless the server is on a loopback address,
// where a local relay or test server may not offer it.
type SMTP struct {
	addr     string // host:port
	host     string
	user     string
	pass     string
	from     string
	implicit bool // smtps://
	// RequireTLS refuses a server that does not offer STARTTLS.
	RequireTLS bool
	// TLSConfig overrides the TLS settings (tests trust their own CA here).
	TLSConfig *tls.Config
	// Timeout bounds one whole delivery, dial to QUIT.
	Timeout time.Duration
}

// ParseSMTPURL reads SMTP_URL; from is the envelope and header sender.
func ParseSMTPURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("SMTP_URL must look like smtp://user:pass@host:587")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("SMTP_URL scheme must be smtp or smtps, got %q", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, errors.New("SMTP_URL needs a host")
	}
	if port == "" {
		port = "587"
		if u.Scheme == "smtps" {
			port = "465"
		}
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("MAIL_FROM must be an address such as Latch <no-reply@example.com>: %v", err)
	}
	s := &SMTP{
		addr: net.JoinHostPort(host, port), host: host, from: from,
		implicit: u.Scheme == "smtps", RequireTLS: !isLoopback(host), Timeout: 15 * time.Second,
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String names the server in logs, without its credentials.
func (s *SMTP) String() string { return "smtp " + s.addr }

// Send delivers m. An error means the server did not accept the message.
func (s *SMTP) Send(ctx context.Context, m identity.Mail) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("smtp: recipient: %w", err)
	}
	msg, err := s.compose(to, m)
	if err != nil {
		return err
	}
	return s.session(ctx, func(c *smtp.Client) error {
		from, _ := mail.ParseAddress(s.from)
		if err := c.Mail(from.Address); err != nil {
			return err
		}
		if err := c.Rcpt(to.Address); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			_ = w.Close()
			return err
		}
		return w.Close() // the server's answer to the final dot: accepted or not
	})
}

// Check connects, negotiates TLS and authenticates without sending, so a
// caller can learn that mail would not go out before promising it would.
func (s *SMTP) Check(ctx context.Context) error {
	return s.session(ctx, func(c *smtp.Client) error { return c.Noop() })
}

// session runs fn on a connected, secured and authenticated client.
func (s *SMTP) session(ctx context.Context, fn func(*smtp.Client) error) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsConfig := s.tlsConfig()
	var conn net.Conn
	var err error
	dialer := &net.Dialer{}
	if s.implicit {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConfig}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: connect %s: %w", s.addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("smtp: %s: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		} else if s.RequireTLS {
			return fmt.Errorf("smtp: %s does not offer STARTTLS; refusing to send credentials and links in clear", s.addr)
		}
	}
	if s.user != "" {
		// net/smtp's PlainAuth itself refuses an unencrypted connection to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := fn(c); err != nil {
		var tp *textproto.Error
		if errors.As(err, &tp) {
			return fmt.Errorf("smtp: server refused: %d %s", tp.Code, tp.Msg)
		}
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted at the final dot; a failed QUIT loses nothing.
		return nil
	}
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLSConfig != nil {
		cfg := s.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = s.host
		}
		return cfg
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// compose renders m as a MIME multipart/alternative message (text and HTML).
func (s *SMTP) compose(to *mail.Address, m identity.Mail) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	from, _ := mail.ParseAddress(s.from)
	domain := from.Address[strings.LastIndex(from.Address, "@")+1:]
	headers := []string{
		"From: " + from.String(),
		"To: " + to.String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", m.Subject),
		"Date: " + time.Now().Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id) + "@" + domain + ">",
		"MIME-Version: 1.0",
		`Content-Type: multipart/alternative; boundary="` + mw.Boundary() + `"`,
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(headers, "\r\n") + "\r\n\r\n")
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	out.Write(buf.Bytes())
	return out.Bytes(), nil
}
