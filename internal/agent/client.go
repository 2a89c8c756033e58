package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// client speaks AWS JSON 1.1 to the control plane. The agent does not use the
// SDK's ECS client because Wharf's agent sends a few extension members the ECS
// shapes lack (stop code, health) and calls Wharf's own long poll; it still
// signs every request with SigV4 as the SDK would.
type client struct {
	eps    *endpoints // one server's URL or every replica's (endpoints.go)
	http   *http.Client
	region string

	mu     sync.RWMutex
	creds  aws.CredentialsProvider // nil: unsigned
	signer *v4.Signer
}

func (c *client) credentials() aws.CredentialsProvider {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.creds
}

func (c *client) setCredentials(p aws.CredentialsProvider) {
	c.mu.Lock()
	c.creds = p
	c.mu.Unlock()
}

// APIError is an error answer from the control plane.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

func errorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func (c *client) call(ctx context.Context, target string, in, out any) error {
	return c.callAs(ctx, "ecs", target, in, out)
}

// callAs is call signed for service ("logs" for the logs API); an in of type
// rawBody is sent as it is.
//
// A server that cannot be reached or answers with a server error makes the
// client move on to the next endpoint. The call is tried again at once only
// when no connection could be made, so that it cannot have been applied;
// otherwise the caller retries as it does against a single server.
func (c *client) callAs(ctx context.Context, service, target string, in, out any) error {
	body, ok := in.(rawBody)
	if !ok {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode %s: %w", target, err)
		}
	}
	for tries := 1; ; tries++ {
		i, base := c.eps.current()
		err := c.post(ctx, base, service, target, body, out)
		var ae *APIError
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case errors.As(err, &ae):
			if ae.Status >= http.StatusInternalServerError {
				c.eps.failed(i)
			}
			return err
		}
		c.eps.failed(i)
		if !unsent(err) || tries >= len(c.eps.urls) {
			return err
		}
	}
}

// post sends one signed request to the server at base.
func (c *client) post(ctx context.Context, base, service, target string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if creds := c.credentials(); creds != nil {
		cr, err := creds.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("agent credentials: %w", err)
		}
		sum := sha256.Sum256(body)
		if err := c.signer.SignHTTP(ctx, cr, req, hex.EncodeToString(sum[:]), service, c.region, time.Now()); err != nil {
			return fmt.Errorf("sign request: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read %s answer: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		code := e.Type
		if i := strings.LastIndexByte(code, '#'); i >= 0 {
			code = code[i+1:]
		}
		if code == "" {
			code = resp.Header.Get("X-Amzn-ErrorType")
		}
		if code == "" {
			code = http.StatusText(resp.StatusCode)
		}
		return &APIError{Status: resp.StatusCode, Code: code, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", target, err)
	}
	return nil
}

// APIClient calls the control plane's AWS JSON operations, signed with SigV4
// for service "ecs" when it has credentials. The command-line tools use it
// for Wharf's own operations, which the SDKs do not know.
type APIClient struct{ c *client }

// NewAPIClient returns a client for endpoint; creds nil sends unsigned
// requests, hc nil uses a default client.
func NewAPIClient(endpoint string, hc *http.Client, creds aws.CredentialsProvider, region string) *APIClient {
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	eps, err := parseEndpoints(endpoint)
	if err != nil {
		// Let the first call say what is wrong with it.
		eps = &endpoints{urls: []string{endpoint}}
	}
	return &APIClient{c: &client{eps: eps, http: hc, creds: creds, region: region, signer: v4.NewSigner()}}
}

// Call sends in to the operation target ("WharfAdmin_v1.CreateJoinToken")
// and decodes the answer into out; an error answer is an *APIError.
func (c *APIClient) Call(ctx context.Context, target string, in, out any) error {
	return c.c.call(ctx, target, in, out)
}
