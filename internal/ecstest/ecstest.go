// Package ecstest starts a real Wharf server on a loopback port for end-to-end
// tests and hands back the official aws-sdk-go-v2 ECS client pointed at it.
package ecstest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/capacity"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/server"
)

// Server is a running test server.
type Server struct {
	*server.Server
	Client  *ecs.Client
	DataDir string
	stop    func()
}

// Options tweak a test server.
type Options struct {
	DataDir string // default: a fresh t.TempDir()
	// AgentTimeout is the server's --agent-timeout; default the server's.
	AgentTimeout time.Duration
	// ServiceTuning shortens the service controller's timings.
	ServiceTuning servicectl.Tuning
	// Listen is the address to serve on; default a free loopback port. A
	// restarted server given its predecessor's Addr keeps its clients.
	Listen string
	// NoAuth turns authentication off. By default the server verifies
	// signatures and TestAccessKeyID is its root key.
	NoAuth bool
	// Credentials replace the default root test key (users with policies).
	Credentials auth.Credentials
	// RateLimitScale turns ECS-shaped rate limits on (0: off).
	RateLimitScale float64
	// AuditLog receives the audit lines.
	AuditLog io.Writer
	// TLSCert and TLSKey serve HTTPS.
	TLSCert, TLSKey string
	// MaxStopTimeout is the server's --max-stop-timeout.
	MaxStopTimeout int32
	// Capacity is managed scaling's launcher and timings.
	Capacity capacity.Options
}

// The root access key of test servers.
const (
	TestAccessKeyID     = "AKIDWHARFTEST"
	TestSecretAccessKey = "wharf-test-secret"
)

// TestCredentials signs as the test servers' root user (agents in tests use
// it too).
var TestCredentials aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(TestAccessKeyID, TestSecretAccessKey, "")

// RootCredentials is the default credential set of test servers.
func RootCredentials() auth.Credentials {
	return auth.StaticCredentials{TestAccessKeyID: {Secret: TestSecretAccessKey,
		Principal: &auth.Principal{Kind: auth.Root, Name: auth.RootUser, AccessKeyID: TestAccessKeyID}}}
}

// Sign signs a hand-made request to a test server as the root user.
func Sign(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	SignAs(t, req, body, TestAccessKeyID, TestSecretAccessKey)
}

// SignAs signs a hand-made request with the given key.
func SignAs(t testing.TB, req *http.Request, body []byte, id, secret string) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "ecs", "us-east-1", time.Now())
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith runs a server with options until the test ends (or Stop).
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WHARF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	creds := o.Credentials
	if creds == nil && !o.NoAuth {
		creds = RootCredentials()
	}
	srv, err := server.New(server.Config{Listen: o.Listen, DataDir: o.DataDir, Log: log,
		AgentTimeout: o.AgentTimeout, ServiceTuning: o.ServiceTuning,
		Credentials: creds, RateLimitScale: o.RateLimitScale, AuditLog: o.AuditLog,
		TLSCert: o.TLSCert, TLSKey: o.TLSKey, MaxStopTimeout: o.MaxStopTimeout, Capacity: o.Capacity})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	waitHealthy(t, srv.URL(), o.TLSCert != "")
	s := &Server{Server: srv, Client: NewClient(srv.URL()), DataDir: o.DataDir}
	var stopped bool
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

// Stop shuts the server down gracefully (as SIGTERM would).
func (s *Server) Stop() { s.stop() }

// NewClient returns an ECS client for endpoint signing as the test root user.
func NewClient(endpoint string) *ecs.Client {
	return NewClientAs(endpoint, TestAccessKeyID, TestSecretAccessKey)
}

// NewClientAs returns an ECS client for endpoint signing with the given key.
func NewClientAs(endpoint, id, secret string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func waitHealthy(t testing.TB, url string, tlsOn bool) {
	t.Helper()
	hc := http.DefaultClient
	if tlsOn {
		// Only the health check skips verification: it proves the server
		// is up, and the test checks the certificate itself.
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server at %s did not become healthy within 10s", url)
}

// ErrorCode returns the AWS error code of err ("" if err is not an API error).
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// WantCode fails the test unless err is an API error with the given code.
func WantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
}

// AgentAttributes are the capability attributes a Wharf agent registers with,
// for tests that register container instances by hand: without them,
// placement refuses task definitions whose requiresAttributes they lack, as
// ECS does.
func AgentAttributes() []types.Attribute {
	var out []types.Attribute
	for _, c := range agent.Capabilities() {
		out = append(out, types.Attribute{Name: aws.String(c)})
	}
	return out
}
