package server_test

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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// End-to-end tests of the request gate: signatures, rate limits, audit lines
// and hostile bodies, against real servers, with the official SDK client and
// raw requests signed by hand where a client has to misbehave on purpose.
// Every refused request is checked to have changed nothing, as root sees it.

const secRegion = "us-east-1"

// secKey is the access key of a test user, derived from its name.
func secKey(name string) (id, secret string) {
	id = "AKIASEC" + strings.ToUpper(name)
	for len(id) < 20 {
		id += "0"
	}
	return id, name + "-secret-0123456789"
}

// secPolicy is a policy document of the given statements (JSON objects).
func secPolicy(statements ...string) string {
	return `{"Version": "2012-10-17", "Statement": [` + strings.Join(statements, ", ") + `]}`
}

// secCreds is the test root key plus one user per entry of policies, read
// from a credentials file as --credentials-file reads it.
func secCreds(t *testing.T, policies map[string][]string) auth.Credentials {
	t.Helper()
	var users []string
	for name, docs := range policies {
		id, secret := secKey(name)
		users = append(users, fmt.Sprintf(`{"name": %q, "accessKeys": [{"accessKeyId": %q, "secretAccessKey": %q}], "policies": [%s]}`,
			name, id, secret, strings.Join(docs, ", ")))
	}
	creds, err := auth.ParseUsers([]byte(`{"users": [` + strings.Join(users, ", ") + `]}`))
	if err != nil {
		t.Fatalf("ParseUsers: %v", err)
	}
	return auth.Chain{ecstest.RootCredentials(), creds}
}

// secClient is the SDK client of a test user.
func secClient(s *ecstest.Server, name string) *ecs.Client {
	id, secret := secKey(name)
	return ecstest.NewClientAs(s.URL(), id, secret)
}

// secAdmin calls Wharf's own operations with a test user's key.
func secAdmin(s *ecstest.Server, name string) *agent.APIClient {
	id, secret := secKey(name)
	return agent.NewAPIClient(s.URL(), nil, credentials.NewStaticCredentialsProvider(id, secret, ""), secRegion)
}

// secRequest is an unsigned AWS JSON 1.1 request to target.
func secRequest(t *testing.T, s *ecstest.Server, target string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	return req
}

// secSign signs req over body as the SDK would, with every part chosen.
func secSign(t *testing.T, req *http.Request, payloadHash, id, secret, region, service string, at time.Time) {
	t.Helper()
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
		req, payloadHash, service, region, at)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}

func secHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// secAnswer is an answer to a raw request.
type secAnswer struct {
	Status  int
	Code    string
	Message string
}

func secSend(t *testing.T, req *http.Request) secAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.Header.Get("X-Amz-Target"), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := secAnswer{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: HTTP %d with a body that is not an AWS error: %q", req.Header.Get("X-Amz-Target"), resp.StatusCode, b)
		}
		a.Code, a.Message = e.Type, e.Message
	}
	return a
}

// secWantErr fails unless err is an SDK API error with code, HTTP status and
// a message holding every one of parts.
func secWantErr(t *testing.T, what string, err error, code string, status int, parts ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: err = %v; want %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: code %s (%s); want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if status != 0 && (!errors.As(err, &re) || re.HTTPStatusCode() != status) {
		t.Errorf("%s: HTTP status of %v; want %d", what, err, status)
	}
	for _, p := range parts {
		if !strings.Contains(ae.ErrorMessage(), p) {
			t.Errorf("%s: message %q; want it to mention %q", what, ae.ErrorMessage(), p)
		}
	}
}

// secClusters is the names of the clusters root lists.
func secClusters(t *testing.T, s *ecstest.Server) []string {
	t.Helper()
	var names []string
	p := ecs.NewListClustersPaginator(s.Client, &ecs.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListClusters as root: %v", err)
		}
		for _, arn := range page.ClusterArns {
			names = append(names, arn[strings.LastIndexByte(arn, '/')+1:])
		}
	}
	slices.Sort(names)
	return names
}

// secClusterStatus is a cluster's status as root sees it, "" if unknown.
func secClusterStatus(t *testing.T, s *ecstest.Server, name string) string {
	t.Helper()
	out, err := s.Client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{name}})
	if err != nil {
		t.Fatalf("DescribeClusters %s as root: %v", name, err)
	}
	if len(out.Clusters) == 0 {
		return ""
	}
	return aws.ToString(out.Clusters[0].Status)
}

func secCreateCluster(t *testing.T, s *ecstest.Server, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := s.Client.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(n)}); err != nil {
			t.Fatalf("CreateCluster %s as root: %v", n, err)
		}
	}
}
