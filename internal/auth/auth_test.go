package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

const (
	testKey    = "AKIDWHARFTEST"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
)

func testVerifier() *Verifier {
	return &Verifier{
		Creds:    StaticCredentials{testKey: {Secret: testSecret, Principal: &Principal{Kind: User, Name: "alice"}}},
		Region:   testRegion,
		Services: []string{"ecs"},
	}
}

// result is what the test server saw for one request.
type result struct {
	id  Identity
	err error
}

// server answers every request after verifying it with v and records results.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	results []result
}

func newServer(t *testing.T, v *Verifier) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := v.Verify(r, body)
		s.mu.Lock()
		s.results = append(s.results, result{id, err})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if e, ok := awsproto.AsError(err); ok {
			w.Header().Set("X-Amzn-ErrorType", e.Code)
			w.WriteHeader(e.Status)
			io.WriteString(w, `{"__type":"`+e.Code+`","message":"x"}`)
			return
		}
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) last(t *testing.T) result {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.results) == 0 {
		t.Fatal("the server saw no request")
	}
	return s.results[len(s.results)-1]
}

func ecsClient(url, region, key, secret string) *ecs.Client {
	return ecs.New(ecs.Options{
		BaseEndpoint:     aws.String(url),
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func wantCode(t *testing.T, err error, code string) *awsproto.Error {
	t.Helper()
	e, ok := awsproto.AsError(err)
	if !ok {
		t.Fatalf("err = %v; want %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("err = %v; want %s", err, code)
	}
	return e
}

func TestSDKRequestsVerify(t *testing.T) {
	s := newServer(t, testVerifier())
	c := ecsClient(s.URL, testRegion, testKey, testSecret)
	ctx := context.Background()

	if _, err := c.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("ListClusters: %v", err)
	}
	if r := s.last(t); r.err != nil {
		t.Fatalf("ListClusters: Verify = %v; want nil", r.err)
	} else if r.id.User != "alice" || r.id.AccessKeyID != testKey || r.id.Service != "ecs" || r.id.Region != testRegion {
		t.Fatalf("ListClusters: Identity = %+v", r.id)
	}

	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:        aws.String("nginx"),
			Image:       aws.String("nginx:1.27"),
			Command:     []string{"sh", "-c", "echo 'héllo  world' && sleep 1"},
			Environment: []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("b=c&d")}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	if r := s.last(t); r.err != nil {
		t.Fatalf("RegisterTaskDefinition: Verify = %v; want nil", r.err)
	}
}

func TestSDKRequestsRefused(t *testing.T) {
	tests := []struct {
		name    string
		region  string
		key     string
		secret  string
		verify  func(*Verifier)
		code    string
		message string
	}{
		{name: "wrong secret", key: testKey, secret: "not-the-secret", code: CodeInvalidSignature, message: "The request signature we calculated does not match"},
		{name: "unknown key", key: "AKIDUNKNOWN", secret: testSecret, code: CodeUnrecognizedClient, message: "The security token included in the request is invalid."},
		{name: "wrong region", region: "eu-west-1", key: testKey, secret: testSecret, code: CodeInvalidSignature, message: "Credential should be scoped to a valid region, not 'eu-west-1'"},
		{name: "wrong service", key: testKey, secret: testSecret, verify: func(v *Verifier) { v.Services = []string{"ssm"} }, code: CodeInvalidSignature, message: "Credential should be scoped to correct service: 'ssm'"},
		{name: "expired", key: testKey, secret: testSecret, verify: func(v *Verifier) {
			v.Now = func() time.Time { return time.Now().Add(20 * time.Minute) }
		}, code: CodeInvalidSignature, message: "Signature expired: "},
		{name: "not yet current", key: testKey, secret: testSecret, verify: func(v *Verifier) {
			v.Now = func() time.Time { return time.Now().Add(-20 * time.Minute) }
		}, code: CodeInvalidSignature, message: "Signature not yet current: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := testVerifier()
			if tt.verify != nil {
				tt.verify(v)
			}
			s := newServer(t, v)
			region := tt.region
			if region == "" {
				region = testRegion
			}
			c := ecsClient(s.URL, region, tt.key, tt.secret)
			if _, err := c.ListClusters(context.Background(), &ecs.ListClustersInput{}); err == nil {
				t.Fatal("ListClusters succeeded; want an error")
			}
			e := wantCode(t, s.last(t).err, tt.code)
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message = %q; want it to contain %q", e.Message, tt.message)
			}
			if e.Status != http.StatusBadRequest {
				t.Errorf("status = %d; want 400", e.Status)
			}
		})
	}
}

func TestExpiredMessage(t *testing.T) {
	v := testVerifier()
	now := time.Date(2024, 3, 25, 14, 52, 51, 0, time.UTC)
	v.Now = func() time.Time { return now }
	r := signedRequest(t, now.Add(-20*time.Minute), []byte(`{}`), nil)
	_, err := v.Verify(r, []byte(`{}`))
	e := wantCode(t, err, CodeInvalidSignature)
	want := "Signature expired: 20240325T143251Z is now earlier than 20240325T143751Z (20240325T145251Z - 15 min.)"
	if e.Message != want {
		t.Errorf("message = %q; want %q", e.Message, want)
	}
}

func TestUnsigned(t *testing.T) {
	s := newServer(t, testVerifier())
	resp, err := http.Post(s.URL, "application/x-amz-json-1.1", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e := wantCode(t, s.last(t).err, CodeMissingAuthenticationToken)
	if e.Status != http.StatusForbidden || resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d (wire %d); want 403", e.Status, resp.StatusCode)
	}
}

// signedRequest returns a server-side view of a request signed by the SDK
// signer at the given time; mutate, when set, runs on the client request
// before signing.
func signedRequest(t *testing.T, at time.Time, body []byte, mutate func(*http.Request)) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://wharf.test:8080/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	if mutate != nil {
		mutate(r)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "ecs", testRegion, at); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHandSigned(t *testing.T) {
	now := time.Now()
	body := []byte(`{"family":"web"}`)
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	tests := []struct {
		name   string
		mutate func(*http.Request) // before signing
		after  func(*http.Request) // after signing
		body   []byte              // what the server receives; nil = body
		code   string              // "" = verified
	}{
		{name: "plain"},
		{name: "content sha256 header", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", bodyHash) }},
		{name: "query string", mutate: func(r *http.Request) { r.URL.RawQuery = "b=2&a=1&a=0&c=%20x" }},
		{name: "multi-valued header with spaces", mutate: func(r *http.Request) {
			r.Header.Add("X-Custom", "  a   b ")
			r.Header.Add("X-Custom", "c")
		}},
		{name: "tampered body", body: []byte(`{"family":"evil"}`), code: CodeInvalidSignature},
		{name: "content sha256 mismatch", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", emptyHash()) }, code: CodeInvalidSignature},
		{name: "unsigned payload", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, code: CodeInvalidSignature},
		{name: "tampered signed header", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster")
		}, code: CodeInvalidSignature},
		{name: "tampered query", after: func(r *http.Request) { r.URL.RawQuery = "a=1" }, code: CodeInvalidSignature},
		{name: "tampered path", after: func(r *http.Request) { r.URL.Path = "/x" }, code: CodeInvalidSignature},
		{name: "tampered host", after: func(r *http.Request) { r.Host = "other.test:8080" }, code: CodeInvalidSignature},
		{name: "signed header removed", after: func(r *http.Request) { r.Header.Del("X-Amz-Target") }, code: CodeIncompleteSignature},
		{name: "unsigned header added", after: func(r *http.Request) { r.Header.Set("X-Extra", "1") }},
		{name: "x-amz-date changed", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", now.Add(time.Second).UTC().Format(amzDateFormat))
		}, code: CodeInvalidSignature},
		{name: "session token", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "tok") }, code: CodeUnrecognizedClient},
		{name: "x-amz-date missing", after: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: CodeIncompleteSignature},
		{name: "x-amz-date malformed", after: func(r *http.Request) { r.Header.Set("X-Amz-Date", "2024-01-01T00:00:00Z") }, code: CodeIncompleteSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedRequest(t, now, body, tt.mutate)
			if tt.after != nil {
				tt.after(r)
			}
			got := tt.body
			if got == nil {
				got = body
			}
			_, err := testVerifier().Verify(r, got)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify = %v; want nil", err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
}

// A client may sign headers the SDK signer never signs (botocore-style
// clients differ); the verifier must still reproduce the signature.
func TestSignedIgnoredHeader(t *testing.T) {
	now := time.Now()
	r := signedRequest(t, now, []byte(`{}`), func(r *http.Request) {
		r.Header["user-agent"] = []string{"custom/1.0"} // lower-case key escapes the signer's ignore list
	})
	if !strings.Contains(r.Header.Get("Authorization"), "user-agent") {
		t.Fatalf("test setup: user-agent not signed: %s", r.Header.Get("Authorization"))
	}
	ua := r.Header["user-agent"]
	delete(r.Header, "user-agent")
	r.Header["User-Agent"] = ua
	if _, err := testVerifier().Verify(r, []byte(`{}`)); err != nil {
		t.Fatalf("Verify = %v; want nil", err)
	}
}

func emptyHash() string {
	sum := sha256.Sum256(nil)
	return hex.EncodeToString(sum[:])
}

func TestMalformedAuthorization(t *testing.T) {
	now := time.Now().UTC()
	date := now.Format(amzDateFormat)
	scope := testKey + "/" + date[:8] + "/" + testRegion + "/ecs/aws4_request"
	sig := strings.Repeat("a", 64)
	tests := []struct {
		name, header string
		code         string
	}{
		{"algorithm only", "AWS4-HMAC-SHA256", CodeIncompleteSignature},
		{"other algorithm", "AWS4-ECDSA-P256-SHA256 Credential=" + scope + ", SignedHeaders=host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"basic auth", "Basic dXNlcjpwYXNz", CodeIncompleteSignature},
		{"garbage", "\x00\xff,,==", CodeIncompleteSignature},
		{"no signature", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host;x-amz-date", CodeIncompleteSignature},
		{"no credential", "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"no signed headers", "AWS4-HMAC-SHA256 Credential=" + scope + ", Signature=" + sig, CodeIncompleteSignature},
		{"empty signed headers", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=, Signature=" + sig, CodeIncompleteSignature},
		{"host not signed", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"date not signed", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host, Signature=" + sig, CodeIncompleteSignature},
		{"upper-case signed header", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=Host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"duplicate signed header", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host;host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"short credential", "AWS4-HMAC-SHA256 Credential=" + testKey + "/" + date[:8] + "/" + testRegion + "/ecs, SignedHeaders=host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"empty credential part", "AWS4-HMAC-SHA256 Credential=" + testKey + "//" + testRegion + "/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"short signature", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host;x-amz-date, Signature=abc", CodeIncompleteSignature},
		{"upper-case signature", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("A", 64), CodeIncompleteSignature},
		{"duplicate parameter", "AWS4-HMAC-SHA256 Credential=" + scope + ", Credential=" + scope + ", SignedHeaders=host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"unknown parameter", "AWS4-HMAC-SHA256 Credential=" + scope + ", Foo=bar, SignedHeaders=host;x-amz-date, Signature=" + sig, CodeIncompleteSignature},
		{"no equals", "AWS4-HMAC-SHA256 Credential", CodeIncompleteSignature},
		{"signed header absent", "AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host;x-amz-date;x-missing, Signature=" + sig, CodeIncompleteSignature},
		{"bad terminator", "AWS4-HMAC-SHA256 Credential=" + testKey + "/" + date[:8] + "/" + testRegion + "/ecs/aws4, SignedHeaders=host;x-amz-date, Signature=" + sig, CodeInvalidSignature},
		{"scope date mismatch", "AWS4-HMAC-SHA256 Credential=" + testKey + "/19990101/" + testRegion + "/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig, CodeInvalidSignature},
		{"well formed, wrong signature", "AWS4-HMAC-SHA256 Credential=" + scope + ",SignedHeaders=host;x-amz-date,Signature=" + sig, CodeInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://wharf.test/", nil)
			r.Header.Set("Authorization", tt.header)
			r.Header.Set("X-Amz-Date", date)
			_, err := testVerifier().Verify(r, nil)
			wantCode(t, err, tt.code)
		})
	}
}

func TestPresignedRefused(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://wharf.test/?X-Amz-Signature=abc", nil)
	_, err := testVerifier().Verify(r, nil)
	wantCode(t, err, CodeIncompleteSignature)
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	c, err := fromEnv(env(nil))
	if c != nil || err != nil {
		t.Errorf("fromEnv(none) = %v, %v; want nil, nil", c, err)
	}
	if _, err := fromEnv(env(map[string]string{EnvAccessKeyID: "a"})); err == nil {
		t.Error("fromEnv(id only) succeeded; want an error")
	}
	if _, err := fromEnv(env(map[string]string{EnvSecretAccessKey: "s"})); err == nil {
		t.Error("fromEnv(secret only) succeeded; want an error")
	}
	c, err = fromEnv(env(map[string]string{EnvAccessKeyID: "a", EnvSecretAccessKey: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	if s, p, ok := c.Lookup("a"); s != "s" || p == nil || p.Name != RootUser || p.Kind != Root || !ok {
		t.Errorf("Lookup(a) = %q, %+v, %v; want s, root, true", s, p, ok)
	}
	if _, _, ok := c.Lookup("b"); ok {
		t.Error("Secret(b) ok; want unknown")
	}
}

func TestErrorsAreAWSErrors(t *testing.T) {
	var e *awsproto.Error
	_, err := testVerifier().Verify(httptest.NewRequest(http.MethodPost, "/", nil), nil)
	if !errors.As(err, &e) {
		t.Fatalf("err = %T; want *awsproto.Error", err)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64))
	f.Add("AWS4-HMAC-SHA256 Credential=,,SignedHeaders=;;")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			return
		}
		if a.AccessKeyID == "" || a.Region == "" || a.Service == "" || !isLowerHex(a.Signature, 64) || a.SignedHeaders == "" {
			t.Fatalf("parseAuthorization(%q) = %+v; accepted an incomplete header", h, a)
		}
		// Verify must never panic on whatever parses.
		r := httptest.NewRequest(http.MethodPost, "http://wharf.test/", nil)
		r.Header.Set("Authorization", h)
		r.Header.Set("X-Amz-Date", a.Date+"T000000Z")
		v := testVerifier()
		v.Now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
		v.Verify(r, nil)
	})
}

// BenchmarkVerify is the gate's signature cost per request: parse, rebuild
// the canonical request, sign it again and compare.
func BenchmarkVerify(b *testing.B) {
	v := testVerifier()
	body := []byte(`{"cluster":"default","tasks":["0123456789abcdef0123456789abcdef"]}`)
	r := signedRequest(&testing.T{}, time.Now(), body, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
