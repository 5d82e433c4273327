// Package mailtest runs a small real SMTP server on loopback for tests: it
// speaks EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, NOOP, RSET and QUIT
// over TCP and keeps what it receives, parsed as MIME.
package mailtest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape the server.
type Options struct {
	STARTTLS bool   // offer STARTTLS with a certificate for 127.0.0.1
	User     string // when set, require AUTH PLAIN with User and Pass
	Pass     string
	// RejectData answers the final dot with a permanent failure.
	RejectData bool
}

// Message is one accepted mail.
type Message struct {
	From, To    string
	Subject     string
	Text, HTML  string
	UsedTLS     bool
	AuthedAs    string
	HeaderLines textproto.MIMEHeader
	// Raw is the message as it crossed the wire after DATA (CRLF line ends
	// kept), without the final "." line and with stuffed dots removed.
	Raw []byte
}

// Server is a running SMTP server.
type Server struct {
	Addr string
	// RootCAs trusts the server's certificate (for STARTTLS).
	RootCAs *x509.CertPool
	opts    Options
	ln      net.Listener
	tlsCfg  *tls.Config
	mu      sync.Mutex
	msgs    []Message
	lines   []string // every command line received, in order
	wg      sync.WaitGroup
}

// Start listens on 127.0.0.1 at an ephemeral port until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln}
	if opts.STARTTLS {
		s.tlsCfg, s.RootCAs = selfSigned(t)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its connections.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

// Commands returns every command line the server received so far, across
// connections, in order (message data excluded), so a test can see that a
// client sent no command it did not mean to.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Messages returns what the server accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

func (s *Server) handle(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(conn)
	reply := func(code int, msg string) { _ = tp.PrintfLine("%d %s", code, msg) }
	reply(220, "mailtest ESMTP")
	var (
		usedTLS  bool
		authedAs string
		from     string
		to       []string
	)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.mu.Unlock()
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			lines := []string{"mailtest"}
			if s.opts.STARTTLS && !usedTLS {
				lines = append(lines, "STARTTLS")
			}
			if s.opts.User != "" {
				lines = append(lines, "AUTH PLAIN")
			}
			lines = append(lines, "8BITMIME")
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				_ = tp.PrintfLine("250%s%s", sep, l)
			}
		case "STARTTLS":
			if s.tlsCfg == nil || usedTLS {
				reply(502, "not offered")
				continue
			}
			reply(220, "go ahead")
			tc := tls.Server(conn, s.tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, usedTLS = tc, true
			tp = textproto.NewConn(conn)
			from, to, authedAs = "", nil, ""
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				reply(504, "unsupported")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(initial)
			parts := bytes.Split(raw, []byte{0})
			if err != nil || len(parts) != 3 || string(parts[1]) != s.opts.User || string(parts[2]) != s.opts.Pass {
				reply(535, "authentication failed")
				continue
			}
			authedAs = s.opts.User
			reply(235, "ok")
		case "MAIL":
			if s.opts.User != "" && authedAs == "" {
				reply(530, "authentication required")
				continue
			}
			from, to = addrOf(arg), nil
			reply(250, "ok")
		case "RCPT":
			if from == "" {
				reply(503, "need MAIL first")
				continue
			}
			to = append(to, addrOf(arg))
			reply(250, "ok")
		case "DATA":
			if len(to) == 0 {
				reply(503, "need RCPT first")
				continue
			}
			reply(354, "end with <CRLF>.<CRLF>")
			raw, err := readData(tp.R)
			if err != nil {
				return
			}
			data := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
			if s.opts.RejectData {
				reply(554, "rejected")
				continue
			}
			msg := parse(data)
			msg.Raw = raw
			msg.From, msg.To, msg.UsedTLS, msg.AuthedAs = from, strings.Join(to, ","), usedTLS, authedAs
			s.mu.Lock()
			s.msgs = append(s.msgs, msg)
			s.mu.Unlock()
			from, to = "", nil
			reply(250, "queued")
		case "NOOP":
			reply(250, "ok")
		case "RSET":
			from, to = "", nil
			reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(500, "unknown command")
		}
	}
}

// readData reads DATA's lines up to the lone "." line. Unlike
// textproto's DotReader it keeps line ends as sent, so a test sees a bare CR
// or LF that a client let through.
func readData(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if string(line) == ".\r\n" {
			return out, nil
		}
		out = append(out, bytes.TrimPrefix(line, []byte("."))...)
	}
}

func addrOf(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ' '); i >= 0 {
		v = v[:i]
	}
	return strings.Trim(v, "<>")
}

// parse reads the subject and the text and HTML parts of a MIME message.
func parse(data []byte) Message {
	var out Message
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return out
	}
	out.HeaderLines = textproto.MIMEHeader(m.Header)
	out.Subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return out
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return out
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			out.HTML = string(b)
		} else {
			out.Text = string(b)
		}
	}
}

func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}
