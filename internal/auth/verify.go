// Package auth verifies AWS Signature Version 4 (Authorization header form)
// on incoming API requests and answers failures with the error codes and
// messages the AWS JSON services use.
//
// Canonicalisation is left to aws-sdk-go-v2's signer: the verifier rebuilds
// the request from exactly the headers the client signed, signs it with the
// stored secret at the request's own X-Amz-Date, and compares signatures in
// constant time.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// Error codes of signature failures.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeInvalidSignature           = "InvalidSignatureException"
)

// DefaultMaxSkew is how far X-Amz-Date may be from the server's clock.
const DefaultMaxSkew = 15 * time.Minute

const (
	amzDateFormat   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// Identity is who signed a verified request.
type Identity struct {
	AccessKeyID string
	User        string
	Principal   *Principal
	Service     string    // from the credential scope
	Region      string    // from the credential scope
	SignedAt    time.Time // X-Amz-Date
}

// Verifier checks SigV4 signatures. The zero Now is time.Now; the zero
// MaxSkew is DefaultMaxSkew. A Verifier is safe for concurrent use.
type Verifier struct {
	Creds    Credentials
	Region   string
	Services []string // signing names accepted in the scope, e.g. "ecs"
	Now      func() time.Time
	MaxSkew  time.Duration
}

var signer = v4.NewSigner()

// Verify checks the signature of r, whose body has already been read into
// body. It does not read r.Body. Errors are *awsproto.Error values with the
// AWS code and HTTP status.
func (v *Verifier) Verify(r *http.Request, body []byte) (Identity, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return Identity{}, incomplete("Wharf accepts Signature Version 4 only in the Authorization header, not in the query string.")
		}
		return Identity{}, &awsproto.Error{Code: CodeMissingAuthenticationToken, Message: "Missing Authentication Token", Status: http.StatusForbidden}
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return Identity{}, incomplete("%s Authorization=%s", err.Error(), clip(h))
	}
	names := a.headerNames()
	if !slices.Contains(names, "host") {
		return Identity{}, incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if !slices.Contains(names, "x-amz-date") {
		return Identity{}, incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	}
	dates := r.Header.Values("X-Amz-Date")
	if len(dates) == 0 {
		return Identity{}, incomplete("Authorization header requires existence of a 'X-Amz-Date' header. Authorization=%s", clip(h))
	}
	if len(dates) > 1 {
		return Identity{}, incomplete("The request has more than one 'X-Amz-Date' header.")
	}
	at, err := time.Parse(amzDateFormat, dates[0])
	if err != nil || at.Format(amzDateFormat) != dates[0] {
		return Identity{}, incomplete("X-Amz-Date %q is not of the form yyyymmddThhmmssZ.", clip(dates[0]))
	}
	if err := v.checkTime(at); err != nil {
		return Identity{}, err
	}
	if err := v.checkScope(a, dates[0]); err != nil {
		return Identity{}, err
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		// Wharf issues no session tokens, so none can be valid.
		return Identity{}, unrecognized()
	}
	secret, principal, ok := v.Creds.Lookup(a.AccessKeyID)
	if !ok {
		return Identity{}, unrecognized()
	}
	payloadHash, err := payloadHash(r, body)
	if err != nil {
		return Identity{}, err
	}
	c, err := signedCopy(r, names)
	if err != nil {
		return Identity{}, err
	}
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret}
	if err := signer.SignHTTP(context.Background(), creds, c, payloadHash, a.Service, a.Region, at); err != nil {
		return Identity{}, &awsproto.Error{Code: awsproto.CodeServer, Message: "The signature could not be computed.", Status: http.StatusInternalServerError}
	}
	want, err := parseAuthorization(c.Header.Get("Authorization"))
	if err != nil {
		return Identity{}, &awsproto.Error{Code: awsproto.CodeServer, Message: "The signature could not be computed.", Status: http.StatusInternalServerError}
	}
	same := subtle.ConstantTimeCompare([]byte(want.Signature), []byte(a.Signature)) == 1
	if !same || want.SignedHeaders != a.SignedHeaders {
		return Identity{}, invalid("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return Identity{AccessKeyID: a.AccessKeyID, User: principal.Name, Principal: principal, Service: a.Service, Region: a.Region, SignedAt: at}, nil
}

func (v *Verifier) checkTime(at time.Time) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	t := now().UTC()
	mins := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	if at.Before(t.Add(-skew)) {
		return invalid("Signature expired: %s is now earlier than %s (%s - %s min.)",
			at.Format(amzDateFormat), t.Add(-skew).Format(amzDateFormat), t.Format(amzDateFormat), mins)
	}
	if at.After(t.Add(skew)) {
		return invalid("Signature not yet current: %s is still later than %s (%s + %s min.)",
			at.Format(amzDateFormat), t.Add(skew).Format(amzDateFormat), t.Format(amzDateFormat), mins)
	}
	return nil
}

func (v *Verifier) checkScope(a authorization, amzDate string) error {
	if a.Date != amzDate[:8] {
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from 'X-Amz-Date'.", clip(a.Date), amzDate[:8])
	}
	if a.Region != v.Region {
		return invalid("Credential should be scoped to a valid region, not '%s'. The region of this endpoint is '%s'.", clip(a.Region), v.Region)
	}
	if !slices.Contains(v.Services, a.Service) {
		return invalid("Credential should be scoped to correct service: '%s'.", strings.Join(v.Services, "', '"))
	}
	if a.Terminator != "aws4_request" {
		return invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", clip(a.Terminator))
	}
	return nil
}

// payloadHash returns the hex SHA-256 of body, checked against
// X-Amz-Content-Sha256 when the client sent it.
func payloadHash(r *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	got := hex.EncodeToString(sum[:])
	vals := r.Header.Values("X-Amz-Content-Sha256")
	switch {
	case len(vals) == 0:
		return got, nil
	case len(vals) > 1:
		return "", incomplete("The request has more than one 'X-Amz-Content-Sha256' header.")
	case vals[0] == unsignedPayload || strings.HasPrefix(vals[0], "STREAMING-"):
		return "", invalid("This service requires a signed payload; X-Amz-Content-Sha256 %q is not accepted.", clip(vals[0]))
	case vals[0] != got:
		return "", invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return got, nil
}

// signedCopy returns a request the SDK signer canonicalises exactly as the
// client did: same method, path, query and host, and only the signed headers.
//
// The signer always signs host and x-amz-date (which it sets from the signing
// time) and content-length when ContentLength > 0, and skips headers whose
// canonical key is on its ignore list (User-Agent, Expect, ...). Headers are
// therefore stored under lower-case keys, which the ignore list does not
// match, so a client that signed one of them is still verified; X-Amz-Date is
// left to the signer, and content-length is set only when it was signed. The
// URL has no scheme so the signer strips no port from the Host as received.
func signedCopy(r *http.Request, names []string) (*http.Request, error) {
	c := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Opaque: r.URL.Opaque, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: http.Header{},
	}
	if c.Host == "" {
		c.Host = r.URL.Host
	}
	for _, n := range names {
		switch n {
		case "host", "x-amz-date":
			continue
		case "content-length":
			length, err := contentLength(r)
			if err != nil {
				return nil, err
			}
			c.ContentLength = length
			continue
		}
		vals := r.Header.Values(n)
		if len(vals) == 0 {
			return nil, incomplete("The signed header '%s' is not in the request.", clip(n))
		}
		c.Header[n] = vals
	}
	return c, nil
}

func contentLength(r *http.Request) (int64, error) {
	n := r.ContentLength
	if s := r.Header.Get("Content-Length"); s != "" {
		var err error
		n, err = strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, incomplete("The signed header 'content-length' is not a number.")
		}
	}
	if n <= 0 {
		// The signer signs content-length only when it is positive; a
		// signed zero or absent length cannot be reproduced.
		return 0, invalid("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return n, nil
}

func incomplete(format string, args ...any) *awsproto.Error {
	return &awsproto.Error{Code: CodeIncompleteSignature, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func invalid(format string, args ...any) *awsproto.Error {
	return &awsproto.Error{Code: CodeInvalidSignature, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func unrecognized() *awsproto.Error {
	return &awsproto.Error{Code: CodeUnrecognizedClient, Message: "The security token included in the request is invalid.", Status: http.StatusBadRequest}
}
