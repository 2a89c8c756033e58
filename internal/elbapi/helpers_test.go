package elbapi_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/elbapi"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

// env is the ELBv2 API on a real bbolt store behind an HTTP server, driven by
// the official elasticloadbalancingv2 client.
type env struct {
	api    *elbapi.API
	st     *bolt.Store
	client *elb.Client
	url    string
	ctx    context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := elbapi.New(elbapi.Config{Store: st, Region: "us-east-1", AccountID: "123456789012", DNSName: "127.0.0.1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { go api.RunJanitor(ctx); api.Run(ctx); close(done) }()
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return &env{api: api, st: st, url: srv.URL, ctx: context.Background(), client: newClient(srv.URL)}
}

func newClient(url string) *elb.Client {
	return elb.New(elb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDWHARFTEST", "wharf-test-secret", ""),
		RetryMaxAttempts: 1,
	})
}

// wantCode fails unless err is an API error with code, and its message holds
// every one of parts.
func wantCode(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v; want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s (%s); want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, p := range parts {
		if !strings.Contains(ae.ErrorMessage(), p) {
			t.Fatalf("error message %q does not mention %q", ae.ErrorMessage(), p)
		}
	}
}

func (e *env) createALB(t *testing.T, name string) types.LoadBalancer {
	t.Helper()
	out, err := e.client.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateLoadBalancer %s: %v", name, err)
	}
	return out.LoadBalancers[0]
}

func (e *env) createNLB(t *testing.T, name string) types.LoadBalancer {
	t.Helper()
	out, err := e.client.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Type: types.LoadBalancerTypeEnumNetwork})
	if err != nil {
		t.Fatalf("CreateLoadBalancer %s: %v", name, err)
	}
	return out.LoadBalancers[0]
}

func (e *env) createTG(t *testing.T, name string, proto types.ProtocolEnum, targetType types.TargetTypeEnum) types.TargetGroup {
	t.Helper()
	out, err := e.client.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: proto, Port: aws.Int32(80), TargetType: targetType, VpcId: aws.String("vpc-1"),
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup %s: %v", name, err)
	}
	return out.TargetGroups[0]
}

func (e *env) createListener(t *testing.T, lbArn string, proto types.ProtocolEnum, port int32, tgArn string) types.Listener {
	t.Helper()
	out, err := e.client.CreateListener(e.ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbArn), Protocol: proto, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn)}},
	})
	if err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	return out.Listeners[0]
}

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
