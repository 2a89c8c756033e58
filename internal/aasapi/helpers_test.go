package aasapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

const (
	ns  = aastypes.ServiceNamespaceEcs
	dim = aastypes.ScalableDimensionECSServiceDesiredCount
)

// newAAS is the official Application Auto Scaling client for a test
// server, signing with the given key (the root key when id is "").
func newAAS(url, id, secret string) *aas.Client {
	creds := ecstest.TestCredentials
	if id != "" {
		creds = credentials.NewStaticCredentialsProvider(id, secret, "")
	}
	return aas.New(aas.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 1})
}

type env struct {
	srv *ecstest.Server
	c   *aas.Client
	ctx context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	srv := ecstest.Start(t)
	return &env{srv: srv, c: newAAS(srv.URL(), "", ""), ctx: context.Background()}
}

// service creates an ECS service of desired tasks in the default cluster
// (no instances run them; the API only needs the service to exist) and
// returns its resource ID.
func (e *env) service(t testing.TB, name string, desired int32) string {
	t.Helper()
	if _, err := e.srv.Client.CreateCluster(e.ctx, &ecs.CreateClusterInput{}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if _, err := e.srv.Client.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("app"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64),
		}},
	}); err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	if _, err := e.srv.Client.CreateService(e.ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name),
		TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(desired)}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	return "service/default/" + name
}

// register registers rid with the range [lo, hi].
func (e *env) register(t *testing.T, rid string, lo, hi int32) string {
	t.Helper()
	out, err := e.c.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid),
		ScalableDimension: dim, MinCapacity: aws.Int32(lo), MaxCapacity: aws.Int32(hi)})
	if err != nil {
		t.Fatalf("RegisterScalableTarget(%s): %v", rid, err)
	}
	return aws.ToString(out.ScalableTargetARN)
}

func (e *env) desired(t *testing.T, name string) int32 {
	t.Helper()
	out, err := e.srv.Client.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices(%s): %v", name, err)
	}
	return out.Services[0].DesiredCount
}

// wantErr fails unless err is the API error code with a message holding
// every one of words.
func wantErr(t *testing.T, what string, err error, code string, words ...string) {
	t.Helper()
	if got := ecstest.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q); want %s", what, err, got, code)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", what, err, w)
		}
	}
}

func updateDesired(name string, n int32) *ecs.UpdateServiceInput {
	return &ecs.UpdateServiceInput{Service: aws.String(name), DesiredCount: aws.Int32(n)}
}

// createDaemon creates a DAEMON service of the task definition service
// registered.
func createDaemon(t *testing.T, e *env, name string) {
	t.Helper()
	if _, err := e.srv.Client.CreateService(e.ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name),
		TaskDefinition: aws.String("app"), SchedulingStrategy: ecstypes.SchedulingStrategyDaemon}); err != nil {
		t.Fatalf("CreateService DAEMON: %v", err)
	}
}

// sign signs a hand-made request for application-autoscaling as the root
// user.
func sign(t *testing.T, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ecstest.TestAccessKeyID, SecretAccessKey: ecstest.TestSecretAccessKey},
		req, hex.EncodeToString(sum[:]), "application-autoscaling", "us-east-1", time.Now())
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}
