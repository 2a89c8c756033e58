package ssmapi_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/keyring"
	"github.com/wharf-ecs/wharf/internal/ssmapi"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

// env is a parameter store on a real bbolt store behind an HTTP server,
// driven by the official SSM client.
type env struct {
	api    *ssmapi.API
	st     *bolt.Store
	client *ssm.Client
	url    string
}

func start(t testing.TB) *env {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, keyring.KeySize)
	_, _ = rand.Read(key)
	kr, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	api := ssmapi.New(ssmapi.Config{Store: st, Region: region, AccountID: account, Keyring: kr})
	mux := awsproto.NewMux(nil)
	mux.Add(api.Service())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{api: api, st: st, url: srv.URL, client: ssm.New(ssm.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDWHARFTEST", "wharf-test-secret", ""),
		RetryMaxAttempts: 1,
	})}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wantCode fails unless err is an API error with the code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := errorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q); want %s", what, err, got, code)
	}
}

func (e *env) put(t *testing.T, in *ssm.PutParameterInput) int64 {
	t.Helper()
	out, err := e.client.PutParameter(context.Background(), in)
	if err != nil {
		t.Fatalf("PutParameter %s: %v", aws.ToString(in.Name), err)
	}
	return out.Version
}

// raw posts body to the service's operation and returns the status and the
// error type ("" on success).
func (e *env) raw(t testing.TB, op, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b
}

// ssmKnows reports whether the service knows op (serves it, or says it does
// not serve it yet) rather than calling it unknown.
func ssmKnows(t *testing.T, e *env, op string) bool {
	_, code, _ := e.raw(t, op, "{}")
	return code != "UnknownOperationException"
}
