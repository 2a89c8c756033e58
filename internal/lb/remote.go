package lb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Remote is a Source that long-polls a Wharf server's
// WharfLoadBalancer_v1.GetLoadBalancerConfig operation, signed with SigV4
// for elasticloadbalancing: how `wharf lb` nodes follow the configuration.
type Remote struct {
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider // nil: unsigned
	HTTP        *http.Client            // nil: a client with a 90s timeout
}

// The service and operation, as internal/elbapi serves them.
const (
	remoteTarget      = "WharfLoadBalancer_v1.GetLoadBalancerConfig"
	remoteSigningName = "elasticloadbalancing"
)

var signer = v4.NewSigner()

// Next implements Source.
func (r *Remote) Next(ctx context.Context, since int64, wait time.Duration) (*Config, error) {
	body, err := json.Marshal(map[string]int64{"sinceRevision": since, "waitSeconds": int64(wait / time.Second)})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(r.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", remoteTarget)
	if r.Credentials != nil {
		cr, err := r.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		sum := sha256.Sum256(body)
		region := r.Region
		if region == "" {
			region = "us-east-1"
		}
		if err := signer.SignHTTP(ctx, cr, req, hex.EncodeToString(sum[:]), remoteSigningName, region, time.Now()); err != nil {
			return nil, fmt.Errorf("sign request: %w", err)
		}
	}
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 90 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read the configuration: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		return nil, fmt.Errorf("%s: %s: %s", resp.Status, e.Type, e.Message)
	}
	c := new(Config)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("decode the configuration: %w", err)
	}
	return c, nil
}
