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
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
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

func TestSignatureVerification(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	url := s.URL()
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("signed")}); err != nil {
		t.Fatalf("CreateCluster with the root key: %v", err)
	}
	sdk := func(creds aws.CredentialsProvider) *ecs.Client {
		return ecs.New(ecs.Options{Region: secRegion, BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 1})
	}
	for i, c := range []struct {
		name   string
		client *ecs.Client
		code   string
		status int
		msg    string
	}{
		{"wrong secret", ecstest.NewClientAs(url, ecstest.TestAccessKeyID, "not-the-test-secret"),
			auth.CodeInvalidSignature, 400, "Check your AWS Secret Access Key"},
		{"unknown key", ecstest.NewClientAs(url, "AKIANOSUCHKEY00000", ecstest.TestSecretAccessKey),
			auth.CodeUnrecognizedClient, 400, "security token included in the request is invalid"},
		{"anonymous", sdk(aws.AnonymousCredentials{}), auth.CodeMissingAuthenticationToken, 403, "Missing Authentication Token"},
		{"session token", sdk(credentials.NewStaticCredentialsProvider(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey, "FQoGZXIvYXdzEXAMPLE")),
			auth.CodeUnrecognizedClient, 400, "security token included in the request is invalid"},
	} {
		_, err := c.client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(fmt.Sprintf("sdk-refused-%d", i))})
		secWantErr(t, "SDK, "+c.name, err, c.code, c.status, c.msg)
	}

	root, secret := ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey
	now := time.Now()
	signed := func(at time.Time, region, service string) func(*http.Request, []byte) []byte {
		return func(req *http.Request, body []byte) []byte {
			secSign(t, req, secHash(body), root, secret, region, service, at)
			return body
		}
	}
	// tamper swaps the cluster name for another of the same length.
	tamper := func(body []byte) []byte {
		return bytes.Replace(body, []byte("raw-refused-"), []byte("raw-tampered"), 1)
	}
	for i, c := range []struct {
		name string
		// prepare signs req (or not) and returns the body to send.
		prepare func(req *http.Request, body []byte) []byte
		code    string
		status  int
		msg     string
	}{
		{"unsigned", func(_ *http.Request, body []byte) []byte { return body },
			auth.CodeMissingAuthenticationToken, 403, "Missing Authentication Token"},
		{"expired", signed(now.Add(-20*time.Minute), secRegion, "ecs"), auth.CodeInvalidSignature, 400, "Signature expired"},
		{"from the future", signed(now.Add(20*time.Minute), secRegion, "ecs"), auth.CodeInvalidSignature, 400, "Signature not yet current"},
		{"wrong region", signed(now, "us-west-2", "ecs"), auth.CodeInvalidSignature, 400, "'us-west-2'"},
		{"wrong service", signed(now, secRegion, "s3"), auth.CodeInvalidSignature, 400, "scoped to correct service"},
		{"scoped to the parameter store", signed(now, secRegion, "ssm"), auth.CodeInvalidSignature, 400, "scoped to correct service: 'ecs'"},
		{"tampered body", func(req *http.Request, body []byte) []byte {
			secSign(t, req, secHash(body), root, secret, secRegion, "ecs", now)
			return tamper(body)
		}, auth.CodeInvalidSignature, 400, "signature we calculated does not match"},
		{"tampered body under a signed payload hash", func(req *http.Request, body []byte) []byte {
			req.Header.Set("X-Amz-Content-Sha256", secHash(body))
			secSign(t, req, secHash(body), root, secret, secRegion, "ecs", now)
			return tamper(body)
		}, auth.CodeInvalidSignature, 400, "x-amz-content-sha256"},
		{"unsigned payload", func(req *http.Request, body []byte) []byte {
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			secSign(t, req, "UNSIGNED-PAYLOAD", root, secret, secRegion, "ecs", now)
			return body
		}, auth.CodeInvalidSignature, 400, "signed payload"},
		{"credential only", func(req *http.Request, body []byte) []byte {
			req.Header.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+root+"/"+now.UTC().Format("20060102")+"/us-east-1/ecs/aws4_request")
			return body
		}, auth.CodeIncompleteSignature, 400, "requires 'Signature' parameter"},
		{"truncated signature", func(req *http.Request, body []byte) []byte {
			secSign(t, req, secHash(body), root, secret, secRegion, "ecs", now)
			h := req.Header.Get("Authorization")
			req.Header.Set("Authorization", h[:len(h)-20])
			return body
		}, auth.CodeIncompleteSignature, 400, "64 lower-case hexadecimal"},
		{"X-Amz-Date dropped", func(req *http.Request, body []byte) []byte {
			secSign(t, req, secHash(body), root, secret, secRegion, "ecs", now)
			req.Header.Del("X-Amz-Date")
			return body
		}, auth.CodeIncompleteSignature, 400, "X-Amz-Date"},
		{"signature in the query string", func(req *http.Request, body []byte) []byte {
			req.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + strings.Repeat("0", 64)
			return body
		}, auth.CodeIncompleteSignature, 400, "Authorization header"},
	} {
		body := []byte(fmt.Sprintf(`{"clusterName": "raw-refused-%02d"}`, i))
		req := secRequest(t, s, model.TargetPrefix+".CreateCluster", body)
		send := c.prepare(req, body)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(send)), int64(len(send))
		got := secSend(t, req)
		if got.Status != c.status || got.Code != c.code || !strings.Contains(got.Message, c.msg) {
			t.Errorf("raw, %s: HTTP %d %s %q; want HTTP %d %s mentioning %q", c.name, got.Status, got.Code, got.Message, c.status, c.code, c.msg)
		}
	}

	// Unsigned callers learn nothing about which targets exist, and only
	// JoinCluster (which carries a join token) needs no signature.
	for _, target := range []string{"NoSuchService_v1.CreateCluster", model.TargetPrefix + ".NoSuchOperation",
		agentproto.AdminTargetPrefix + "." + agentproto.CreateJoinToken, agentproto.TargetPrefix + "." + agentproto.PollTasks} {
		got := secSend(t, secRequest(t, s, target, []byte(`{"cluster": "signed"}`)))
		if got.Status != 403 || got.Code != auth.CodeMissingAuthenticationToken {
			t.Errorf("unsigned %s: HTTP %d %s %q; want HTTP 403 %s", target, got.Status, got.Code, got.Message, auth.CodeMissingAuthenticationToken)
		}
	}
	body := []byte(`{}`)
	req := secRequest(t, s, "NoSuchService_v1.CreateCluster", body)
	ecstest.Sign(t, req, body)
	if got := secSend(t, req); got.Code != "UnknownOperationException" {
		t.Errorf("signed, unknown target: HTTP %d %s %q; want UnknownOperationException", got.Status, got.Code, got.Message)
	}

	if got := secClusters(t, s); !slices.Equal(got, []string{"signed"}) {
		t.Errorf("clusters after the refused requests = %v; want only [signed]", got)
	}
	var tokens agentproto.ListJoinTokensResponse
	if err := agent.NewAPIClient(url, nil, ecstest.TestCredentials, secRegion).Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.ListJoinTokens, agentproto.ListJoinTokensRequest{}, &tokens); err != nil {
		t.Fatalf("ListJoinTokens as root: %v", err)
	}
	if len(tokens.JoinTokens) != 0 {
		t.Errorf("join tokens after an unsigned CreateJoinToken: %+v; want none", tokens.JoinTokens)
	}
}

// Bodies that must not be decoded are refused with SerializationException
// after the signature over them checked out, never with a 500.
func TestHostileBodiesUnderAuth(t *testing.T) {
	s := ecstest.Start(t)
	for name, body := range map[string]string{
		"over 1 MiB":       `{"clusterName": "big", "tags": [{"key": "k", "value": "` + strings.Repeat("v", awsproto.MaxBodyBytes) + `"}]}`,
		"invalid UTF-8":    "{\"clusterName\": \"bad\xff\xfe\"}",
		"100 levels deep":  `{"clusterName": "deep", "tags": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		"truncated JSON":   `{"clusterName": "cut`,
		"not a JSON value": `clusterName=plain`,
	} {
		b := []byte(body)
		req := secRequest(t, s, model.TargetPrefix+".CreateCluster", b)
		ecstest.Sign(t, req, b)
		got := secSend(t, req)
		if got.Status < 400 || got.Status > 499 || got.Code != awsproto.CodeSerialization || got.Message == "" {
			t.Errorf("%s: HTTP %d %s %q; want a 4xx %s with a message", name, got.Status, got.Code, got.Message, awsproto.CodeSerialization)
		}
	}
	if got := secClusters(t, s); len(got) != 0 {
		t.Errorf("clusters after refused bodies = %v; want none", got)
	}
}

func TestRateLimitsPerAccessKey(t *testing.T) {
	s := ecstest.StartWith(t, ecstest.Options{RateLimitScale: 1, Credentials: secCreds(t, map[string][]string{
		"other": {secPolicy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`)},
	})})
	ctx := context.Background()
	start := time.Now()
	ok, throttled := 0, ""
	for i := 0; i < 40 && throttled == ""; i++ {
		name := fmt.Sprintf("burst-%02d", i)
		_, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		switch {
		case err == nil:
			ok++
		case ecstest.ErrorCode(err) == "ThrottlingException":
			throttled = name
			secWantErr(t, "throttled CreateCluster", err, "ThrottlingException", 400, "Rate exceeded", "cluster modify")
		default:
			t.Fatalf("CreateCluster %s: %v", name, err)
		}
	}
	elapsed := time.Since(start)
	if throttled == "" {
		t.Fatalf("40 CreateCluster calls in %v were never throttled; want ThrottlingException after a burst of 20", elapsed)
	}
	// The bucket holds 20 and refills one a second.
	if maxOK := 20 + int(elapsed.Seconds()) + 1; ok < 20 || ok > maxOK {
		t.Errorf("%d CreateCluster calls passed in %v before the first throttle; want 20 to %d", ok, elapsed, maxOK)
	}
	if st := secClusterStatus(t, s, throttled); st != "" {
		t.Errorf("throttled CreateCluster %s created a cluster (status %s)", throttled, st)
	}
	// Another key has its own bucket; root's reads are another category.
	if _, err := secClient(s, "other").CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("other-key")}); err != nil {
		t.Errorf("CreateCluster with another key after root was throttled: %v", err)
	}
	if got := secClusters(t, s); len(got) != ok+1 {
		t.Errorf("root lists %d clusters; want %d (its %d and other-key)", len(got), ok+1, ok)
	}
	// Unsigned JoinCluster calls share their address's bucket, so join
	// tokens cannot be guessed at full speed.
	var guessed int
	for ; guessed < 40; guessed++ {
		_, err := secJoin(t, s, fmt.Sprintf("wharf-join-%016x-%064x", guessed, guessed), secRegistration("other-key"))
		if code, _ := secDenial(err); code == "ThrottlingException" {
			break
		} else if code != auth.CodeAccessDenied {
			t.Fatalf("JoinCluster with a guessed token: %v", err)
		}
	}
	if guessed < 20 || guessed == 40 {
		t.Errorf("%d guessed join tokens were refused before the first ThrottlingException; want 20 (the bucket's burst) and then throttling", guessed)
	}
}

// secLog is an io.Writer the audit lines of a server go to.
type secLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *secLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *secLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSuffix(l.buf.String(), "\n"), "\n")
}

func TestAuditLinesForMutatingCalls(t *testing.T) {
	var log secLog
	s := ecstest.StartWith(t, ecstest.Options{AuditLog: &log, Credentials: secCreds(t, map[string][]string{
		"reader": {secPolicy(`{"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"}`)},
	})})
	ctx := context.Background()
	start := time.Now().Add(-time.Second)
	created, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("audited")})
	if err != nil {
		t.Fatalf("CreateCluster as root: %v", err)
	}
	createID, _ := awsmw.GetRequestIDMetadata(created.ResultMetadata)
	reader := secClient(s, "reader")
	_, err = reader.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("audited")})
	secWantErr(t, "DeleteCluster as reader", err, auth.CodeAccessDenied, 400)
	var re *awshttp.ResponseError
	var deleteID string
	if errors.As(err, &re) {
		deleteID = re.ServiceRequestID()
	}
	if _, err := s.Client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"audited"}}); err != nil {
		t.Fatalf("DescribeClusters as root: %v", err)
	}
	if _, err := reader.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("ListClusters as reader: %v", err)
	}
	body := []byte(`{"clusterName": "anonymous"}`)
	if got := secSend(t, secRequest(t, s, model.TargetPrefix+".CreateCluster", body)); got.Code != auth.CodeMissingAuthenticationToken {
		t.Fatalf("unsigned CreateCluster: %+v", got)
	}
	if st := secClusterStatus(t, s, "audited"); st != "ACTIVE" {
		t.Errorf("cluster audited is %q after reader's refused DeleteCluster; want ACTIVE", st)
	}

	readerKey, _ := secKey("reader")
	type line struct {
		Time                                                       time.Time
		Principal, Kind, AccessKeyID, Operation, RequestID, Result string
	}
	want := []line{
		{Principal: "root", Kind: "root", AccessKeyID: ecstest.TestAccessKeyID, Operation: model.TargetPrefix + ".CreateCluster", RequestID: createID, Result: "ok"},
		{Principal: "reader", Kind: "user", AccessKeyID: readerKey, Operation: model.TargetPrefix + ".DeleteCluster", RequestID: deleteID, Result: auth.CodeAccessDenied},
		{Principal: "unauthenticated", Kind: "none", Operation: model.TargetPrefix + ".CreateCluster", Result: auth.CodeMissingAuthenticationToken},
	}
	lines := log.lines()
	if len(lines) != len(want) {
		t.Fatalf("audit log has %d lines; want %d (the mutating calls only):\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, raw := range lines {
		var got line
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatalf("audit line %d is not JSON: %v: %s", i+1, err, raw)
		}
		if got.Time.Before(start) || got.Time.After(time.Now()) {
			t.Errorf("audit line %d: time %v is outside the test", i+1, got.Time)
		}
		w := want[i]
		if w.RequestID == "" {
			w.RequestID = got.RequestID // an unsigned raw request's ID is not read back
		}
		w.Time = got.Time
		if got != w {
			t.Errorf("audit line %d = %+v\nwant %+v", i+1, got, w)
		}
	}
}

// secOp is one operation of the policy matrix, made by a user.
type secOp struct {
	action string
	setup  func(user string) // as root, before the call; nil: none
	call   func(user string) error
	// done reports whether the call's effect is visible to root; nil for
	// reads.
	done func(user string) bool
}

// secOps are the matrix's operations on a server where root made cluster
// "fixture".
func secOps(t *testing.T, s *ecstest.Server) []secOp {
	ctx := context.Background()
	fixture := "arn:aws:ecs:us-east-1:123456789012:cluster/fixture"
	admin := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, secRegion)
	return []secOp{
		{action: "ecs:ListClusters", call: func(u string) error {
			_, err := secClient(s, u).ListClusters(ctx, &ecs.ListClustersInput{})
			return err
		}},
		{action: "ecs:DescribeClusters", call: func(u string) error {
			_, err := secClient(s, u).DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"fixture"}})
			return err
		}},
		{action: "ecs:CreateCluster", call: func(u string) error {
			_, err := secClient(s, u).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c-" + u)})
			return err
		}, done: func(u string) bool { return secClusterStatus(t, s, "c-"+u) == "ACTIVE" }},
		{action: "ecs:DeleteCluster", setup: func(u string) { secCreateCluster(t, s, "d-"+u) }, call: func(u string) error {
			_, err := secClient(s, u).DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("d-" + u)})
			return err
		}, done: func(u string) bool { return secClusterStatus(t, s, "d-"+u) == "INACTIVE" }},
		{action: "ecs:RegisterTaskDefinition", call: func(u string) error {
			_, err := secClient(s, u).RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f-" + u),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64)}}})
			return err
		}, done: func(u string) bool {
			out, err := s.Client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("f-" + u)})
			if err != nil {
				t.Fatalf("ListTaskDefinitions as root: %v", err)
			}
			return len(out.TaskDefinitionArns) > 0
		}},
		{action: "ecs:TagResource", call: func(u string) error {
			_, err := secClient(s, u).TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(fixture),
				Tags: []types.Tag{{Key: aws.String("k-" + u), Value: aws.String("v")}}})
			return err
		}, done: func(u string) bool {
			out, err := s.Client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(fixture)})
			if err != nil {
				t.Fatalf("ListTagsForResource as root: %v", err)
			}
			return slices.ContainsFunc(out.Tags, func(tg types.Tag) bool { return aws.ToString(tg.Key) == "k-"+u })
		}},
		{action: "wharf:CreateJoinToken", call: func(u string) error {
			var out agentproto.CreateJoinTokenResponse
			return secAdmin(s, u).Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.CreateJoinToken,
				agentproto.CreateJoinTokenRequest{Cluster: "fixture"}, &out)
		}, done: func(u string) bool {
			var out agentproto.ListJoinTokensResponse
			if err := admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.ListJoinTokens, agentproto.ListJoinTokensRequest{}, &out); err != nil {
				t.Fatalf("ListJoinTokens as root: %v", err)
			}
			return slices.ContainsFunc(out.JoinTokens, func(j agentproto.JoinTokenInfo) bool { return j.CreatedBy == u })
		}},
	}
}

// secDenial returns the code and message of a refusal from either client.
func secDenial(err error) (code, msg string) {
	var ae smithy.APIError
	var pe *agent.APIError
	switch {
	case errors.As(err, &ae):
		return ae.ErrorCode(), ae.ErrorMessage()
	case errors.As(err, &pe):
		return pe.Code, pe.Message
	}
	return "", ""
}

func TestPolicyMatrix(t *testing.T) {
	anyResource := func(effect, actionKey, actions string) string {
		return fmt.Sprintf(`{"Effect": %q, %q: %s, "Resource": "*"}`, effect, actionKey, actions)
	}
	s := ecstest.StartWith(t, ecstest.Options{Credentials: secCreds(t, map[string][]string{
		// Action names match case-insensitively, as in IAM.
		"reader": {secPolicy(anyResource("Allow", "Action", `["ecs:Describe*", "ecs:list*"]`))},
		// The Deny is in a second policy: it still wins over the Allow.
		"deployer": {secPolicy(anyResource("Allow", "Action", `"ecs:*"`)),
			secPolicy(anyResource("Deny", "Action", `"ecs:DeleteCluster"`))},
		"nobody": nil,
		// NotAction allows every action it does not name, wharf:* too.
		"notaction": {secPolicy(anyResource("Allow", "NotAction", `"ecs:Delete*"`))},
		"admin":     {secPolicy(anyResource("Allow", "Action", `"*"`))},
	})})
	secCreateCluster(t, s, "fixture")
	ops := secOps(t, s)
	everything := []string{}
	for _, op := range ops {
		everything = append(everything, op.action)
	}
	allowed := map[string][]string{
		"reader":    {"ecs:ListClusters", "ecs:DescribeClusters"},
		"deployer":  {"ecs:ListClusters", "ecs:DescribeClusters", "ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:TagResource"},
		"nobody":    {},
		"notaction": slices.DeleteFunc(slices.Clone(everything), func(a string) bool { return a == "ecs:DeleteCluster" }),
		"admin":     everything,
	}
	for _, user := range []string{"reader", "deployer", "nobody", "notaction", "admin"} {
		for _, op := range ops {
			if op.setup != nil {
				op.setup(user)
			}
			err := op.call(user)
			want := slices.Contains(allowed[user], op.action)
			what := user + " " + op.action
			if want {
				if err != nil {
					t.Errorf("%s: %v; want it allowed", what, err)
				} else if op.done != nil && !op.done(user) {
					t.Errorf("%s succeeded but root does not see its effect", what)
				}
				continue
			}
			code, msg := secDenial(err)
			if code != auth.CodeAccessDenied {
				t.Errorf("%s: err = %v; want %s", what, err, auth.CodeAccessDenied)
				continue
			}
			why := "because no identity-based policy allows the " + op.action + " action"
			if user == "deployer" && op.action == "ecs:DeleteCluster" {
				why = "with an explicit deny"
			}
			for _, part := range []string{"User " + user + " ", "not authorized to perform: " + op.action, why} {
				if !strings.Contains(msg, part) {
					t.Errorf("%s: message %q; want it to say %q", what, msg, part)
				}
			}
			if op.done != nil && op.done(user) {
				t.Errorf("%s was refused but root sees its effect", what)
			}
		}
	}
}

// Policies naming resource ARNs: these need the gate to evaluate ECS
// requests against the ARNs they name ((*ecsapi.API).Resources in the ECS
// service's rules), not against "*".
func TestPolicyResourceARNs(t *testing.T) {
	const arn = "arn:aws:ecs:us-east-1:123456789012:cluster/"
	s := ecstest.StartWith(t, ecstest.Options{Credentials: secCreds(t, map[string][]string{
		"devonly": {secPolicy(
			`{"Effect": "Allow", "Action": "ecs:*", "Resource": ["`+arn+`dev", "`+arn+`team-*"]}`,
			`{"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}`)},
		"notprod": {secPolicy(
			`{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}`,
			`{"Effect": "Deny", "Action": "ecs:*", "Resource": "`+arn+`prod"}`)},
	})})
	secCreateCluster(t, s, "dev", "prod")
	ctx := context.Background()
	describe := func(names ...string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names})
			return err
		}
	}
	create := func(name string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
			return err
		}
	}
	del := func(name string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
			return err
		}
	}
	tag := func(name string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn + name),
				Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("x")}}})
			return err
		}
	}
	for _, c := range []struct {
		user, what string
		call       func(*ecs.Client) error
		// deniedOn is the ARN the refusal names; "" when allowed.
		deniedOn string
		explicit bool
	}{
		{"devonly", "DescribeClusters dev", describe("dev"), "", false},
		{"devonly", "DescribeClusters prod", describe("prod"), arn + "prod", false},
		{"devonly", "DescribeClusters dev and prod", describe("dev", "prod"), arn + "prod", false},
		{"devonly", "ListClusters", func(c *ecs.Client) error {
			_, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
			return err
		}, "", false},
		{"devonly", "TagResource dev", tag("dev"), "", false},
		{"devonly", "TagResource prod", tag("prod"), arn + "prod", false},
		{"devonly", "CreateCluster team-a", create("team-a"), "", false},
		{"devonly", "CreateCluster teamb", create("teamb"), arn + "teamb", false},
		{"devonly", "DeleteCluster prod", del("prod"), arn + "prod", false},
		{"notprod", "DeleteCluster prod", del("prod"), arn + "prod", true},
		{"notprod", "TagResource prod", tag("prod"), arn + "prod", true},
		{"notprod", "DescribeClusters dev and prod", describe("dev", "prod"), arn + "prod", true},
		{"notprod", "DescribeClusters dev", describe("dev"), "", false},
		{"notprod", "CreateCluster staging", create("staging"), "", false},
	} {
		what := c.user + " " + c.what
		err := c.call(secClient(s, c.user))
		if c.deniedOn == "" {
			if err != nil {
				t.Errorf("%s: %v; want it allowed", what, err)
			}
			continue
		}
		code, msg := secDenial(err)
		if code != auth.CodeAccessDenied || !strings.Contains(msg, "User "+c.user+" ") || !strings.Contains(msg, "on resource: "+c.deniedOn) ||
			c.explicit != strings.Contains(msg, "explicit deny") {
			t.Errorf("%s: err = %v; want %s naming %s and resource %s (explicit deny: %v)", what, err, auth.CodeAccessDenied, c.user, c.deniedOn, c.explicit)
		}
	}
	for name, want := range map[string]string{"dev": "ACTIVE", "prod": "ACTIVE", "team-a": "ACTIVE", "teamb": "", "staging": "ACTIVE"} {
		if got := secClusterStatus(t, s, name); got != want {
			t.Errorf("cluster %s is %q; want %q", name, got, want)
		}
	}
	out, err := s.Client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn + "prod")})
	if err != nil || len(out.Tags) != 0 {
		t.Errorf("tags of prod = %+v, %v; want none (every TagResource on it was refused)", out, err)
	}
}

// secJoined is an agent that joined with a token: its instance and the
// clients signing with its credential.
type secJoined struct {
	arn string
	api *agent.APIClient // Wharf's agent client
	ecs *ecs.Client      // the SDK, as someone holding the stolen key would
	ssm *ssm.Client
}

func secRegistration(cluster string) model.RegisterContainerInstanceRequest {
	reg := model.RegisterContainerInstanceRequest{
		Cluster: cluster,
		TotalResources: []model.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: model.Ptr[int32](1024)},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: model.Ptr[int32](1024)},
		},
		VersionInfo: &model.VersionInfo{AgentVersion: "1.0.0", DockerVersion: "24.0.7"},
	}
	for _, a := range ecstest.AgentAttributes() {
		reg.Attributes = append(reg.Attributes, model.Attribute{Name: aws.ToString(a.Name)})
	}
	return reg
}

func secJoin(t *testing.T, s *ecstest.Server, token string, reg model.RegisterContainerInstanceRequest) (secJoined, error) {
	t.Helper()
	var out agentproto.JoinClusterResponse
	err := agent.NewAPIClient(s.URL(), nil, nil, secRegion).Call(context.Background(), agentproto.AdminTargetPrefix+"."+agentproto.JoinCluster,
		agentproto.JoinClusterRequest{JoinToken: token, Registration: reg}, &out)
	if err != nil {
		return secJoined{}, err
	}
	creds := credentials.NewStaticCredentialsProvider(out.AccessKeyID, out.SecretAccessKey, "")
	return secJoined{arn: out.ContainerInstance.ContainerInstanceArn,
		api: agent.NewAPIClient(s.URL(), nil, creds, secRegion),
		ecs: ecstest.NewClientAs(s.URL(), out.AccessKeyID, out.SecretAccessKey),
		ssm: ssm.New(ssm.Options{Region: secRegion, BaseEndpoint: aws.String(s.URL()), Credentials: creds, RetryMaxAttempts: 1})}, nil
}

// secWantCode fails unless err is an API error of either client with code
// and, if given, a message holding part.
func secWantCode(t *testing.T, what string, err error, code, part string) {
	t.Helper()
	got, msg := secDenial(err)
	if got != code || !strings.Contains(msg, part) {
		t.Errorf("%s: err = %v; want %s mentioning %q", what, err, code, part)
	}
}

func TestAgentCredentialsBoundToInstance(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	root := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, secRegion)
	admin := func(op string, in, out any) error {
		return root.Call(ctx, agentproto.AdminTargetPrefix+"."+op, in, out)
	}
	newToken := func(cluster string) agentproto.CreateJoinTokenResponse {
		t.Helper()
		var out agentproto.CreateJoinTokenResponse
		if err := admin(agentproto.CreateJoinToken, agentproto.CreateJoinTokenRequest{Cluster: cluster}, &out); err != nil {
			t.Fatalf("CreateJoinToken %s as root: %v", cluster, err)
		}
		return out
	}
	instances := func(cluster string) int {
		t.Helper()
		out, err := s.Client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
		if err != nil {
			t.Fatalf("ListContainerInstances %s as root: %v", cluster, err)
		}
		return len(out.ContainerInstanceArns)
	}
	describeTask := func(arn string) types.Task {
		t.Helper()
		out, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("x"), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks %s as root: %v %+v", arn, err, out)
		}
		return out.Tasks[0]
	}
	ecsOp := func(j secJoined, op string, in any) error {
		return j.api.Call(ctx, model.TargetPrefix+"."+op, in, nil)
	}
	poll := func(j secJoined, cluster, inst string) (agentproto.PollTasksResponse, error) {
		var out agentproto.PollTasksResponse
		err := j.api.Call(ctx, agentproto.TargetPrefix+"."+agentproto.PollTasks,
			agentproto.PollTasksRequest{Cluster: cluster, ContainerInstanceArn: inst, WaitSeconds: 1}, &out)
		return out, err
	}

	secCreateCluster(t, s, "x", "y")
	td, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("sec-agent"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true),
			Cpu: 128, Memory: aws.Int32(128)}}})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	tokX, tokY := newToken("x"), newToken("y")
	a, err := secJoin(t, s, tokX.Token, secRegistration("x"))
	if err != nil {
		t.Fatalf("JoinCluster A: %v", err)
	}
	b, err := secJoin(t, s, tokX.Token, secRegistration(""))
	if err != nil {
		t.Fatalf("JoinCluster B (cluster from the token): %v", err)
	}
	if !strings.Contains(b.arn, ":container-instance/x/") {
		t.Fatalf("B joined as %s; want an instance of cluster x, the token's", b.arn)
	}

	// Root runs one task on each instance.
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		Count: aws.Int32(2), PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	taskOn := map[string]string{}
	for _, tk := range run.Tasks {
		tk = describeTask(aws.ToString(tk.TaskArn))
		taskOn[aws.ToString(tk.ContainerInstanceArn)] = aws.ToString(tk.TaskArn)
	}
	taskA, taskB := taskOn[a.arn], taskOn[b.arn]
	if taskA == "" || taskB == "" {
		t.Fatalf("tasks by instance = %v; want one on A (%s) and one on B (%s)", taskOn, a.arn, b.arn)
	}

	// A acts for itself.
	got, err := poll(a, "x", a.arn)
	if err != nil || len(got.Tasks) != 1 || got.Tasks[0].Task.TaskArn != taskA {
		t.Fatalf("A polls for its own instance: %v %+v; want its one task %s", err, got.Tasks, taskA)
	}
	if err := ecsOp(a, "RegisterContainerInstance", func() model.RegisterContainerInstanceRequest {
		r := secRegistration("x")
		r.ContainerInstanceArn = a.arn
		return r
	}()); err != nil {
		t.Errorf("A registers its own instance again: %v", err)
	}
	running := agentproto.SubmitTaskStateChangeInput{SubmitTaskStateChangeRequest: model.SubmitTaskStateChangeRequest{
		Cluster: "x", Task: taskA, Status: "RUNNING"}}
	if err := ecsOp(a, "SubmitTaskStateChange", running); err != nil {
		t.Errorf("A reports its own task RUNNING: %v", err)
	} else if st := aws.ToString(describeTask(taskA).LastStatus); st != "RUNNING" {
		t.Errorf("A's task is %s after A reported RUNNING", st)
	}

	// A may not act for B.
	_, err = poll(a, "x", b.arn)
	secWantCode(t, "A polls for B's instance", err, auth.CodeAccessDenied, "act for container instance "+b.arn)
	_, err = poll(a, "y", a.arn)
	secWantCode(t, "A polls in cluster y", err, auth.CodeAccessDenied, "act in cluster y")
	// A body naming both instances (keys differing in case decode to the
	// same member) is judged as the operation reads it.
	for _, body := range []string{
		`{"cluster": "x", "containerInstanceArn": "` + a.arn + `", "ContainerInstanceARN": "` + b.arn + `", "waitSeconds": 1}`,
		`{"cluster": "x", "containerInstanceArn": "` + b.arn + `", "containerinstancearn": "` + a.arn + `", "waitSeconds": 1}`,
	} {
		var out agentproto.PollTasksResponse
		err := a.api.Call(ctx, agentproto.TargetPrefix+"."+agentproto.PollTasks, json.RawMessage(body), &out)
		if code, _ := secDenial(err); err != nil && code != auth.CodeAccessDenied {
			t.Errorf("A polls with %s: %v; want B refused or A's own tasks", body, err)
		}
		for _, tk := range out.Tasks {
			if tk.Task.TaskArn != taskA {
				t.Errorf("A polls with %s and is handed task %s of another instance", body, tk.Task.TaskArn)
			}
		}
	}
	takeover := secRegistration("x")
	takeover.ContainerInstanceArn = b.arn
	takeover.VersionInfo.AgentVersion = "6.6.6"
	secWantCode(t, "A registers B's instance", ecsOp(a, "RegisterContainerInstance", takeover), auth.CodeAccessDenied, b.arn)
	secWantCode(t, "A registers a new instance", ecsOp(a, "RegisterContainerInstance", secRegistration("x")), auth.CodeAccessDenied, "join token")
	running.Task = taskB
	secWantCode(t, "A reports B's task", ecsOp(a, "SubmitTaskStateChange", running), auth.CodeAccessDenied, "runs on another instance")
	secWantCode(t, "A reports a container of B's task", ecsOp(a, "SubmitContainerStateChange", model.SubmitContainerStateChangeRequest{
		Cluster: "x", Task: taskB, ContainerName: "app", Status: "RUNNING"}), auth.CodeAccessDenied, "runs on another instance")
	if st := aws.ToString(describeTask(taskB).LastStatus); st != "PENDING" {
		t.Errorf("B's task is %s after A's refused reports; want PENDING", st)
	}
	di, err := s.Client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("x"), ContainerInstances: []string{b.arn}})
	if err != nil || len(di.ContainerInstances) != 1 || aws.ToString(di.ContainerInstances[0].VersionInfo.AgentVersion) != "1.0.0" {
		t.Errorf("B's instance after A's refused registration: %v %+v; want agent version 1.0.0 unchanged", err, di)
	}

	// An agent credential is no user key.
	_, err = a.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
	secWantCode(t, "A's credential RunTask", err, auth.CodeAccessDenied, "agent credential")
	_, err = a.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	secWantCode(t, "A's credential ListClusters", err, auth.CodeAccessDenied, "agent credential")
	_, err = a.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("x"), Tasks: []string{taskA}})
	secWantCode(t, "A's credential DescribeTasks", err, auth.CodeAccessDenied, "agent credential")
	var tok agentproto.CreateJoinTokenResponse
	err = a.api.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.CreateJoinToken, agentproto.CreateJoinTokenRequest{Cluster: "x"}, &tok)
	secWantCode(t, "A's credential CreateJoinToken", err, auth.CodeAccessDenied, "agent credential")
	// Nor may it read the parameter store: its tasks' secrets come with
	// PollTasks.
	rootSSM := ssm.New(ssm.Options{Region: secRegion, BaseEndpoint: aws.String(s.URL()), Credentials: ecstest.TestCredentials, RetryMaxAttempts: 1})
	if _, err := rootSSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/x/db-password"), Value: aws.String("hunter2"),
		Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatalf("PutParameter as root: %v", err)
	}
	_, err = a.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x/db-password"), WithDecryption: aws.Bool(true)})
	secWantCode(t, "A's credential GetParameter", err, auth.CodeAccessDenied, "agent credential")
	tasks, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("x")})
	if err != nil || len(tasks.TaskArns) != 2 {
		t.Errorf("tasks in x after A's refused RunTask: %v %v; want the 2 root ran", err, tasks)
	}

	// Join tokens that do not check out register nothing.
	revoked, expired := newToken("x"), newToken("x")
	if err := admin(agentproto.DeleteJoinToken, agentproto.DeleteJoinTokenRequest{TokenID: revoked.JoinToken.TokenID}, nil); err != nil {
		t.Fatalf("DeleteJoinToken: %v", err)
	}
	secExpireToken(t, s, expired.JoinToken.TokenID)
	id, secret, _ := strings.Cut(strings.TrimPrefix(tokX.Token, "wharf-join-"), "-")
	for name, token := range map[string]string{
		"revoked":      revoked.Token,
		"expired":      expired.Token,
		"malformed":    "not-a-join-token",
		"unknown":      "wharf-join-0123456789abcdef-" + secret,
		"wrong secret": "wharf-join-" + id + "-" + strings.Repeat("0", len(secret)),
		"empty":        "",
	} {
		_, err := secJoin(t, s, token, secRegistration("x"))
		secWantCode(t, "JoinCluster with a "+name+" token", err, auth.CodeAccessDenied, "join token is not valid")
	}
	_, err = secJoin(t, s, tokX.Token, secRegistration("y"))
	secWantCode(t, "JoinCluster with x's token into y", err, auth.CodeAccessDenied, "registers instances in cluster x, not y")
	reuse := secRegistration("x")
	reuse.ContainerInstanceArn = a.arn
	_, err = secJoin(t, s, tokX.Token, reuse)
	secWantCode(t, "JoinCluster naming A's instance", err, "InvalidParameterException", "new container instance")
	if nx, ny := instances("x"), instances("y"); nx != 2 || ny != 0 {
		t.Errorf("instances after refused joins: x %d, y %d; want 2 and 0", nx, ny)
	}
	if _, err := secJoin(t, s, tokY.Token, secRegistration("y")); err != nil {
		t.Errorf("JoinCluster with y's own token: %v", err)
	}

	// Revoking the token leaves the instances that joined with it alone;
	// deregistering an instance kills its credential.
	if err := admin(agentproto.DeleteJoinToken, agentproto.DeleteJoinTokenRequest{TokenID: tokX.JoinToken.TokenID}, nil); err != nil {
		t.Fatalf("DeleteJoinToken: %v", err)
	}
	if _, err := poll(b, "x", b.arn); err != nil {
		t.Errorf("B polls after its token was revoked: %v", err)
	}
	if _, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("x"),
		ContainerInstance: aws.String(a.arn), Force: aws.Bool(true)}); err != nil {
		t.Fatalf("DeregisterContainerInstance A: %v", err)
	}
	_, err = poll(a, "x", a.arn)
	secWantCode(t, "A polls after deregistration", err, auth.CodeUnrecognizedClient, "")
	_, err = a.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	secWantCode(t, "A's credential after deregistration", err, auth.CodeUnrecognizedClient, "")
	if _, err := poll(b, "x", b.arn); err != nil {
		t.Errorf("B polls after A was deregistered: %v", err)
	}
}

// secExpireToken moves a join token's expiry into the past, as time would.
func secExpireToken(t *testing.T, s *ecstest.Server, id string) {
	t.Helper()
	ctx := context.Background()
	key := state.JoinTokenKey(id)
	tok, rev, err := state.Get[state.JoinToken](ctx, s.Store(), key)
	if err != nil {
		t.Fatalf("read join token %s: %v", id, err)
	}
	tok.ExpiresAt = model.NewTime(time.Now().Add(-time.Second))
	if _, err := s.Store().Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, tok)}}); err != nil {
		t.Fatalf("expire join token %s: %v", id, err)
	}
}
