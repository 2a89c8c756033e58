package sdapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// withoutHostPrefix stops the SDK from sending DiscoverInstances to
// "data-" + the endpoint's host, which does not resolve for a local
// endpoint. This is what Go users of Wharf add (docs/service-discovery.md).
func withoutHostPrefix(o *servicediscovery.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("WharfNoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}

// newSD is the official Cloud Map client for a test server, signing as the
// root user.
func newSD(url string, opts ...func(*servicediscovery.Options)) *servicediscovery.Client {
	return servicediscovery.New(servicediscovery.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      ecstest.TestCredentials,
		RetryMaxAttempts: 1,
	}, append([]func(*servicediscovery.Options){withoutHostPrefix}, opts...)...)
}

type env struct {
	srv *ecstest.Server
	sd  *servicediscovery.Client
	ctx context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	srv := ecstest.Start(t)
	return &env{srv: srv, sd: newSD(srv.URL()), ctx: context.Background()}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wantErr fails unless err is an API error with the code whose message
// holds want.
func wantErr(t *testing.T, what string, err error, code, want string) {
	t.Helper()
	if got := errorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q); want %s", what, err, got, code)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q does not say %q", what, err, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// namespaceFrom follows a create operation to the namespace it made, as
// clients do: GetOperation, then the NAMESPACE target.
func (e *env) namespaceFrom(t *testing.T, opID *string) string {
	t.Helper()
	op := must[*servicediscovery.GetOperationOutput](t, "GetOperation")(e.sd.GetOperation(e.ctx, &servicediscovery.GetOperationInput{OperationId: opID}))
	if op.Operation.Status != sdtypes.OperationStatusSuccess {
		t.Fatalf("operation %s is %s; want SUCCESS at once", *opID, op.Operation.Status)
	}
	return op.Operation.Targets[string(sdtypes.OperationTargetTypeNamespace)]
}

func (e *env) privateNamespace(t *testing.T, name string) string {
	t.Helper()
	out := must[*servicediscovery.CreatePrivateDnsNamespaceOutput](t, "CreatePrivateDnsNamespace")(e.sd.CreatePrivateDnsNamespace(e.ctx,
		&servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String(name), Vpc: aws.String("vpc-local")}))
	return e.namespaceFrom(t, out.OperationId)
}

// dnsService creates a service with A and SRV records and a custom health
// check when custom is set.
func (e *env) dnsService(t *testing.T, nsID, name string, policy sdtypes.RoutingPolicy, custom bool) *sdtypes.Service {
	t.Helper()
	in := &servicediscovery.CreateServiceInput{
		Name: aws.String(name), NamespaceId: aws.String(nsID),
		DnsConfig: &sdtypes.DnsConfig{RoutingPolicy: policy, DnsRecords: []sdtypes.DnsRecord{
			{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)},
			{Type: sdtypes.RecordTypeSrv, TTL: aws.Int64(20)},
		}},
	}
	if custom {
		in.HealthCheckCustomConfig = &sdtypes.HealthCheckCustomConfig{}
	}
	return must[*servicediscovery.CreateServiceOutput](t, "CreateService")(e.sd.CreateService(e.ctx, in)).Service
}

// waitFor polls cond every 25ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
