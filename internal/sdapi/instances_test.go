package sdapi_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

func (e *env) register(t *testing.T, svcID, id string, attrs map[string]string) *string {
	t.Helper()
	out := must[*servicediscovery.RegisterInstanceOutput](t, "RegisterInstance "+id)(e.sd.RegisterInstance(e.ctx,
		&servicediscovery.RegisterInstanceInput{ServiceId: aws.String(svcID), InstanceId: aws.String(id), Attributes: attrs}))
	return out.OperationId
}

func (e *env) discover(t *testing.T, in *servicediscovery.DiscoverInstancesInput) []string {
	t.Helper()
	out := must[*servicediscovery.DiscoverInstancesOutput](t, "DiscoverInstances")(e.sd.DiscoverInstances(e.ctx, in))
	var ids []string
	for _, i := range out.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	slices.Sort(ids)
	return ids
}

func TestInstancesAndAsyncOperations(t *testing.T) {
	e := start(t)
	nsID := e.privateNamespace(t, "inst.local")
	svc := e.dnsService(t, nsID, "web", "", true)
	id := aws.ToString(svc.Id)

	// RegisterInstance answers an operation, which GetOperation reports
	// done, naming the service and instance.
	opID := e.register(t, id, "i-1", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "8080", "color": "blue"})
	op := must[*servicediscovery.GetOperationOutput](t, "GetOperation")(e.sd.GetOperation(e.ctx, &servicediscovery.GetOperationInput{OperationId: opID}))
	if op.Operation.Type != sdtypes.OperationTypeRegisterInstance || op.Operation.Status != sdtypes.OperationStatusSuccess ||
		op.Operation.Targets["SERVICE"] != id || op.Operation.Targets["INSTANCE"] != "i-1" {
		t.Fatalf("register operation = %+v", op.Operation)
	}
	e.register(t, id, "i-2", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.2", "AWS_INSTANCE_PORT": "8080", "color": "green",
		"AWS_INIT_HEALTH_STATUS": "UNHEALTHY"})
	e.register(t, id, "i-3", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.3", "AWS_INSTANCE_PORT": "8081", "color": "blue"})

	// Registering again updates the attributes and keeps the health.
	e.register(t, id, "i-3", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.33", "AWS_INSTANCE_PORT": "8081", "color": "blue"})
	got := must[*servicediscovery.GetInstanceOutput](t, "GetInstance")(e.sd.GetInstance(e.ctx, &servicediscovery.GetInstanceInput{
		ServiceId: aws.String(id), InstanceId: aws.String("i-3")}))
	if got.Instance.Attributes["AWS_INSTANCE_IPV4"] != "10.0.0.33" || aws.ToString(got.ResourceOwner) != "123456789012" {
		t.Fatalf("GetInstance = %+v", got.Instance)
	}

	list := must[*servicediscovery.ListInstancesOutput](t, "ListInstances")(e.sd.ListInstances(e.ctx, &servicediscovery.ListInstancesInput{ServiceId: aws.String(id), MaxResults: aws.Int32(2)}))
	if len(list.Instances) != 2 || list.NextToken == nil {
		t.Fatalf("first page = %d instances, token %v; want 2 and a token", len(list.Instances), list.NextToken)
	}
	rest := must[*servicediscovery.ListInstancesOutput](t, "ListInstances 2")(e.sd.ListInstances(e.ctx, &servicediscovery.ListInstancesInput{ServiceId: aws.String(id), NextToken: list.NextToken}))
	if len(rest.Instances) != 1 || rest.NextToken != nil {
		t.Fatalf("second page = %+v", rest)
	}
	if n := aws.ToInt32(must[*servicediscovery.GetServiceOutput](t, "GetService")(e.sd.GetService(e.ctx, &servicediscovery.GetServiceInput{Id: aws.String(id)})).Service.InstanceCount); n != 3 {
		t.Fatalf("InstanceCount = %d; want 3", n)
	}

	health := must[*servicediscovery.GetInstancesHealthStatusOutput](t, "GetInstancesHealthStatus")(e.sd.GetInstancesHealthStatus(e.ctx,
		&servicediscovery.GetInstancesHealthStatusInput{ServiceId: aws.String(id)}))
	want := map[string]sdtypes.HealthStatus{"i-1": "HEALTHY", "i-2": "UNHEALTHY", "i-3": "HEALTHY"}
	for k, v := range want {
		if health.Status[k] != v {
			t.Fatalf("health = %v; want %v", health.Status, want)
		}
	}

	// Discovery: healthy by default, by attribute, optional attributes,
	// each health filter, and the revision moving with every change.
	disc := func(in servicediscovery.DiscoverInstancesInput) []string {
		in.NamespaceName, in.ServiceName = aws.String("inst.local"), aws.String("WEB")
		return e.discover(t, &in)
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s = %v; want %v", what, got, want)
		}
	}
	check("default (healthy)", disc(servicediscovery.DiscoverInstancesInput{}), []string{"i-1", "i-3"})
	check("ALL", disc(servicediscovery.DiscoverInstancesInput{HealthStatus: sdtypes.HealthStatusFilterAll}), []string{"i-1", "i-2", "i-3"})
	check("UNHEALTHY", disc(servicediscovery.DiscoverInstancesInput{HealthStatus: sdtypes.HealthStatusFilterUnhealthy}), []string{"i-2"})
	check("query color=blue", disc(servicediscovery.DiscoverInstancesInput{QueryParameters: map[string]string{"color": "blue"}}), []string{"i-1", "i-3"})
	check("optional port 8081", disc(servicediscovery.DiscoverInstancesInput{OptionalParameters: map[string]string{"AWS_INSTANCE_PORT": "8081"}}), []string{"i-3"})
	check("optional matching none", disc(servicediscovery.DiscoverInstancesInput{OptionalParameters: map[string]string{"color": "red"}}), []string{"i-1", "i-3"})
	if got := disc(servicediscovery.DiscoverInstancesInput{MaxResults: aws.Int32(1), HealthStatus: sdtypes.HealthStatusFilterAll}); len(got) != 1 {
		t.Fatalf("MaxResults 1 gave %v", got)
	}

	rev := func() int64 {
		out := must[*servicediscovery.DiscoverInstancesRevisionOutput](t, "revision")(e.sd.DiscoverInstancesRevision(e.ctx,
			&servicediscovery.DiscoverInstancesRevisionInput{NamespaceName: aws.String("inst.local"), ServiceName: aws.String("web")}))
		return aws.ToInt64(out.InstancesRevision)
	}
	r0 := rev()
	must[*servicediscovery.UpdateInstanceCustomHealthStatusOutput](t, "UpdateInstanceCustomHealthStatus")(e.sd.UpdateInstanceCustomHealthStatus(e.ctx,
		&servicediscovery.UpdateInstanceCustomHealthStatusInput{ServiceId: aws.String(id), InstanceId: aws.String("i-1"), Status: sdtypes.CustomHealthStatusUnhealthy}))
	check("after i-1 unhealthy", disc(servicediscovery.DiscoverInstancesInput{}), []string{"i-3"})
	r1 := rev()
	if r1 <= r0 {
		t.Fatalf("InstancesRevision %d after a health change; want more than %d", r1, r0)
	}
	must[*servicediscovery.UpdateInstanceCustomHealthStatusOutput](t, "healthy again")(e.sd.UpdateInstanceCustomHealthStatus(e.ctx,
		&servicediscovery.UpdateInstanceCustomHealthStatusInput{ServiceId: aws.String(id), InstanceId: aws.String("i-2"), Status: sdtypes.CustomHealthStatusHealthy}))
	dereg := must[*servicediscovery.DeregisterInstanceOutput](t, "DeregisterInstance")(e.sd.DeregisterInstance(e.ctx,
		&servicediscovery.DeregisterInstanceInput{ServiceId: aws.String(id), InstanceId: aws.String("i-3")}))
	op = must[*servicediscovery.GetOperationOutput](t, "GetOperation")(e.sd.GetOperation(e.ctx, &servicediscovery.GetOperationInput{OperationId: dereg.OperationId}))
	if op.Operation.Type != sdtypes.OperationTypeDeregisterInstance || op.Operation.Status != sdtypes.OperationStatusSuccess {
		t.Fatalf("deregister operation = %+v", op.Operation)
	}
	check("after i-3 left, i-2 healthy", disc(servicediscovery.DiscoverInstancesInput{}), []string{"i-2"})
	if r2 := rev(); r2 <= r1 {
		t.Fatalf("InstancesRevision %d after a deregistration; want more than %d", r2, r1)
	}

	ops := must[*servicediscovery.ListOperationsOutput](t, "ListOperations")(e.sd.ListOperations(e.ctx, &servicediscovery.ListOperationsInput{
		Filters: []sdtypes.OperationFilter{{Name: sdtypes.OperationFilterNameServiceId, Values: []string{id}},
			{Name: sdtypes.OperationFilterNameType, Values: []string{"REGISTER_INSTANCE"}}}}))
	if len(ops.Operations) != 4 {
		t.Fatalf("REGISTER_INSTANCE operations of %s = %d; want 4", id, len(ops.Operations))
	}
}

func TestInstanceValidation(t *testing.T) {
	e := start(t)
	nsID := e.privateNamespace(t, "val.local")
	svc := aws.ToString(e.dnsService(t, nsID, "web", "", false).Id)
	plainOut := must[*servicediscovery.CreateServiceOutput](t, "plain")(e.sd.CreateService(e.ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("plain"), NamespaceId: aws.String(nsID)}))
	plain := aws.ToString(plainOut.Service.Id)
	reg := func(svcID, id string, attrs map[string]string) error {
		_, err := e.sd.RegisterInstance(e.ctx, &servicediscovery.RegisterInstanceInput{ServiceId: aws.String(svcID), InstanceId: aws.String(id), Attributes: attrs})
		return err
	}
	ok := map[string]string{"AWS_INSTANCE_IPV4": "10.1.1.1", "AWS_INSTANCE_PORT": "80"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	many := with("x", "y")
	for i := range 31 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	cases := []struct {
		name string
		err  error
		code string
		want string
	}{
		{"bad id", reg(svc, "a b", ok), "InvalidInput", "Invalid InstanceId"},
		{"long id", reg(svc, strings.Repeat("i", 65), ok), "InvalidInput", "Invalid InstanceId"},
		{"no A address", reg(svc, "i", with("AWS_INSTANCE_IPV4", "")), "InvalidInput", "AWS_INSTANCE_IPV4 is required"},
		{"no SRV port", reg(svc, "i", with("AWS_INSTANCE_PORT", "")), "InvalidInput", "AWS_INSTANCE_PORT is required"},
		{"bad ipv4", reg(svc, "i", with("AWS_INSTANCE_IPV4", "10.1.1")), "InvalidInput", "not an IPv4"},
		{"bad port", reg(svc, "i", with("AWS_INSTANCE_PORT", "70000")), "InvalidInput", "port number"},
		{"bad init health", reg(svc, "i", with("AWS_INIT_HEALTH_STATUS", "MAYBE")), "InvalidInput", "AWS_INIT_HEALTH_STATUS"},
		{"value with edge space", reg(svc, "i", with("x", " y")), "InvalidInput", "spaces and tabs only between"},
		{"too many custom", reg(svc, "i", many), "InvalidInput", "at most 30 custom"},
		{"no attributes", reg(plain, "i", map[string]string{}), "InvalidInput", "Attributes are required"},
		{"unknown service", reg("srv-0000000000000000", "i", ok), "ServiceNotFound", "srv-0000000000000000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.err, tc.code, tc.want) })
	}
	_, err := e.sd.DeregisterInstance(e.ctx, &servicediscovery.DeregisterInstanceInput{ServiceId: aws.String(svc), InstanceId: aws.String("nope")})
	wantErr(t, "deregister unknown", err, "InstanceNotFound", "nope")
	_, err = e.sd.GetInstance(e.ctx, &servicediscovery.GetInstanceInput{ServiceId: aws.String(svc), InstanceId: aws.String("nope")})
	wantErr(t, "get unknown", err, "InstanceNotFound", "nope")
	e.register(t, svc, "i-1", ok)
	_, err = e.sd.UpdateInstanceCustomHealthStatus(e.ctx, &servicediscovery.UpdateInstanceCustomHealthStatusInput{
		ServiceId: aws.String(svc), InstanceId: aws.String("i-1"), Status: sdtypes.CustomHealthStatusUnhealthy})
	wantErr(t, "no custom health", err, "CustomHealthNotFound", "HealthCheckCustomConfig")
	// Without a health check every instance is discovered, as UNKNOWN,
	// whatever the filter asks.
	out := must[*servicediscovery.DiscoverInstancesOutput](t, "discover")(e.sd.DiscoverInstances(e.ctx, &servicediscovery.DiscoverInstancesInput{
		NamespaceName: aws.String("val.local"), ServiceName: aws.String("web"), HealthStatus: sdtypes.HealthStatusFilterUnhealthy}))
	if len(out.Instances) != 1 || out.Instances[0].HealthStatus != sdtypes.HealthStatusUnknown ||
		aws.ToString(out.Instances[0].NamespaceName) != "val.local" || aws.ToString(out.Instances[0].ServiceName) != "web" {
		t.Fatalf("discovered = %+v", out.Instances)
	}
	_, err = e.sd.DiscoverInstances(e.ctx, &servicediscovery.DiscoverInstancesInput{NamespaceName: aws.String("nope.local"), ServiceName: aws.String("web")})
	wantErr(t, "unknown namespace", err, "NamespaceNotFound", "nope.local")
	_, err = e.sd.DiscoverInstances(e.ctx, &servicediscovery.DiscoverInstancesInput{NamespaceName: aws.String("val.local"), ServiceName: aws.String("nope")})
	wantErr(t, "unknown service", err, "ServiceNotFound", "nope")
}

// TestDiscoverWithHostPrefix shows the other way to use the SDK unchanged:
// an endpoint host name whose "data-" twin also reaches Wharf (two /etc/hosts
// lines). Here a dialer stands in for the hosts file.
func TestDiscoverWithHostPrefix(t *testing.T) {
	e := start(t)
	nsID := e.privateNamespace(t, "hp.local")
	svc := aws.ToString(e.dnsService(t, nsID, "web", "", false).Id)
	e.register(t, svc, "i-1", map[string]string{"AWS_INSTANCE_IPV4": "10.2.2.2", "AWS_INSTANCE_PORT": "80"})
	_, port, _ := net.SplitHostPort(e.srv.Addr())
	var hosts []string
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		hosts = append(hosts, host)
		if host != "wharf.test" && host != "data-wharf.test" {
			return nil, fmt.Errorf("unexpected host %s", host)
		}
		return dial(ctx, network, e.srv.Addr())
	}
	plain := servicediscovery.New(servicediscovery.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://wharf.test:" + port), Credentials: ecstest.TestCredentials,
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Transport: tr},
	})
	out, err := plain.DiscoverInstances(e.ctx, &servicediscovery.DiscoverInstancesInput{NamespaceName: aws.String("hp.local"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 1 || !slices.Contains(hosts, "data-wharf.test") {
		t.Fatalf("instances %+v through hosts %v; want one, asked of data-wharf.test", out.Instances, hosts)
	}
}
