package server_test

import (
	"bytes"
	"context"
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
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
)

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
