package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// body is a decoded request body: JSON object members or form fields.
type body map[string]any

// mediaTypes lists what a route accepts; Better Auth takes JSON everywhere
// and forms on the email sign-in and sign-up routes.
type mediaTypes []string

var (
	jsonOnly    = mediaTypes{"application/json"}
	jsonOrForms = mediaTypes{"application/x-www-form-urlencoded", "application/json"}
)

// decodeBody parses the body before anything else looks at the request, as
// better-call does: another media type is 415, malformed JSON is 400. A body
// without a Content-Type is ignored, as Better Auth ignores it. The decoded
// value (possibly not an object) is kept for the route's validation.
func (h *handler) decodeBody(c *gin.Context) {
	allowed := jsonOnly
	switch c.FullPath() {
	case h.basePath + "/sign-in/email", h.basePath + "/sign-up/email", h.basePath + "/callback/:id":
		allowed = jsonOrForms
	}
	v, err := decode(c, allowed)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Set(bodyKey, v)
}

const bodyKey = "latch.body"

// decode returns the body: nil when there is none, a body for a JSON object
// or a form, any other JSON value as decoded.
func decode(c *gin.Context, allowed mediaTypes) (any, error) {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, newError(http.StatusBadRequest, "BAD_REQUEST", "Could not read request body")
	}
	contentType := c.GetHeader("Content-Type")
	if len(raw) == 0 || contentType == "" {
		return nil, nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	mt = strings.ToLower(mt)
	ok := false
	for _, a := range allowed {
		ok = ok || mt == a
	}
	if !ok {
		return nil, newError(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
			fmt.Sprintf("Content-Type %q is not allowed. Allowed types: %s", contentType, strings.Join(allowed, ", ")))
	}
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, newError(http.StatusBadRequest, "BAD_REQUEST", "Invalid form body")
		}
		b := body{}
		for k, v := range form {
			b[k] = v[0]
		}
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errInvalidJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errInvalidJSON
	}
	switch x := v.(type) {
	case map[string]any:
		return body(x), nil
	case nil:
		return jsonNull{}, nil
	default:
		return v, nil
	}
}

// jsonNull is a body that is the JSON literal null, which zod reports
// differently from no body at all.
type jsonNull struct{}

// shape is how a route's schema names the object it wants, in zod's words.
type shape int

const (
	objectShape          shape = iota // z.object
	recordShape                       // z.record
	objectAndRecordShape              // z.object(...).and(z.record(...)), sign-up's schema
)

// bodyObject returns the route's body as an object, or zod's complaint
// when it is absent or another JSON value.
func bodyObject(c *gin.Context, want shape) (body, error) {
	v, _ := c.Get(bodyKey)
	if b, ok := v.(body); ok {
		return b, nil
	}
	got := "undefined"
	if _, isNull := v.(jsonNull); isNull {
		got = "null"
	} else if v != nil {
		got = jsType(v)
	}
	issues := []string{"[body] Invalid input: expected object, received " + got}
	switch {
	case want == recordShape:
		issues = []string{"[body] Invalid input: expected record, received " + got}
	case want == objectAndRecordShape && v != nil:
		issues = append(issues, "[body] Invalid input: expected record, received "+got)
	}
	return nil, &validationErrors{issues: issues}
}

// validationErrors collects zod-style issues so a bad body is answered with
// Better Auth's VALIDATION_ERROR message: "[body.email] Invalid email address; …".
type validationErrors struct{ issues []string }

func (v *validationErrors) add(field, msg string) {
	v.issues = append(v.issues, fmt.Sprintf("[body.%s] %s", field, msg))
}

func (v *validationErrors) err() error {
	if v == nil || len(v.issues) == 0 {
		return nil
	}
	return v
}

func (v *validationErrors) Error() string { return strings.Join(v.issues, "; ") }

// jsType names a decoded JSON value the way zod's messages do.
func jsType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "unknown"
	}
}

// str reads a string member; a missing required one or a wrong type is an issue.
func (b body) str(v *validationErrors, field string, required bool) (string, bool) {
	raw, present := b[field]
	if !present {
		if required {
			v.add(field, "Invalid input: expected string, received undefined")
		}
		return "", false
	}
	s, ok := raw.(string)
	if !ok {
		v.add(field, "Invalid input: expected string, received "+jsType(raw))
		return "", false
	}
	if !cleanText(s) {
		v.add(field, badTextMessage)
		return "", false
	}
	return s, true
}

// badTextMessage is the issue for a string no field may hold. Better Auth
// passes such strings on, and PostgreSQL then refuses them; we refuse them
// first, on every dialect alike.
const badTextMessage = "Invalid input: must be valid UTF-8 without NUL characters"

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// nullableStr reads a member that may be a string or null.
func (b body) nullableStr(v *validationErrors, field string) (value *string, present bool) {
	raw, present := b[field]
	if !present {
		return nil, false
	}
	if raw == nil {
		return nil, true
	}
	s, ok := raw.(string)
	if !ok {
		v.add(field, "Invalid input: expected string, received "+jsType(raw))
		return nil, false
	}
	if !cleanText(s) {
		v.add(field, badTextMessage)
		return nil, false
	}
	return &s, true
}

// boolean reads an optional boolean member.
func (b body) boolean(v *validationErrors, field string, def bool) bool {
	raw, present := b[field]
	if !present {
		return def
	}
	x, ok := raw.(bool)
	if !ok {
		v.add(field, "Invalid input: expected boolean, received "+jsType(raw))
		return def
	}
	return x
}
