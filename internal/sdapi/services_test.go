package sdapi_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
)

func TestServiceLifecycle(t *testing.T) {
	e := start(t)
	nsID := e.privateNamespace(t, "svc.local")
	in := &servicediscovery.CreateServiceInput{
		Name: aws.String("backend"), NamespaceId: aws.String(nsID), Description: aws.String("the backend"),
		CreatorRequestId: aws.String("once"),
		DnsConfig: &sdtypes.DnsConfig{RoutingPolicy: sdtypes.RoutingPolicyWeighted, DnsRecords: []sdtypes.DnsRecord{
			{Type: sdtypes.RecordTypeSrv, TTL: aws.Int64(30)}, {Type: sdtypes.RecordTypeA, TTL: aws.Int64(5)}}},
		HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{},
	}
	svc := must[*servicediscovery.CreateServiceOutput](t, "CreateService")(e.sd.CreateService(e.ctx, in)).Service
	id := aws.ToString(svc.Id)
	if !srvIDForm.MatchString(id) || aws.ToString(svc.Arn) != "arn:aws:servicediscovery:us-east-1:123456789012:service/"+id ||
		aws.ToString(svc.NamespaceId) != nsID || svc.Type != sdtypes.ServiceTypeDnsHttp || svc.HealthCheckCustomConfig == nil ||
		svc.DnsConfig.RoutingPolicy != sdtypes.RoutingPolicyWeighted || len(svc.DnsConfig.DnsRecords) != 2 ||
		aws.ToInt64(svc.DnsConfig.DnsRecords[0].TTL) != 30 || aws.ToString(svc.CreatedByAccount) != "123456789012" {
		t.Fatalf("CreateService = %+v", svc)
	}
	// A repeat with the same CreatorRequestId answers the service; another
	// request for the name, in any case, is refused.
	again := must[*servicediscovery.CreateServiceOutput](t, "repeat")(e.sd.CreateService(e.ctx, in)).Service
	if aws.ToString(again.Id) != id {
		t.Fatalf("repeated CreateService made %s; want %s", aws.ToString(again.Id), id)
	}
	_, err := e.sd.CreateService(e.ctx, &servicediscovery.CreateServiceInput{Name: aws.String("BACKEND"), NamespaceId: aws.String(nsID)})
	wantErr(t, "duplicate", err, "ServiceAlreadyExists", id)

	got := must[*servicediscovery.GetServiceOutput](t, "GetService")(e.sd.GetService(e.ctx, &servicediscovery.GetServiceInput{Id: svc.Arn})).Service
	if aws.ToString(got.Id) != id || aws.ToInt32(got.InstanceCount) != 0 || aws.ToString(got.Description) != "the backend" {
		t.Fatalf("GetService = %+v", got)
	}
	ns := must[*servicediscovery.GetNamespaceOutput](t, "GetNamespace")(e.sd.GetNamespace(e.ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(nsID)}))
	if aws.ToInt32(ns.Namespace.ServiceCount) != 1 {
		t.Fatalf("ServiceCount = %d; want 1", aws.ToInt32(ns.Namespace.ServiceCount))
	}

	must[*servicediscovery.RegisterInstanceOutput](t, "RegisterInstance")(e.sd.RegisterInstance(e.ctx, &servicediscovery.RegisterInstanceInput{
		ServiceId: aws.String(id), InstanceId: aws.String("i-1"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "80"}}))
	_, err = e.sd.DeleteService(e.ctx, &servicediscovery.DeleteServiceInput{Id: aws.String(id)})
	wantErr(t, "delete with instances", err, "ResourceInUse", "registered instances")
	must[*servicediscovery.DeregisterInstanceOutput](t, "DeregisterInstance")(e.sd.DeregisterInstance(e.ctx,
		&servicediscovery.DeregisterInstanceInput{ServiceId: aws.String(id), InstanceId: aws.String("i-1")}))
	must[*servicediscovery.DeleteServiceOutput](t, "DeleteService")(e.sd.DeleteService(e.ctx, &servicediscovery.DeleteServiceInput{Id: aws.String(id)}))
	_, err = e.sd.GetService(e.ctx, &servicediscovery.GetServiceInput{Id: aws.String(id)})
	wantErr(t, "deleted", err, "ServiceNotFound", id)
}

func TestServiceValidation(t *testing.T) {
	e := start(t)
	nsID := e.privateNamespace(t, "v.local")
	httpOut := must[*servicediscovery.CreateHttpNamespaceOutput](t, "CreateHttpNamespace")(e.sd.CreateHttpNamespace(e.ctx,
		&servicediscovery.CreateHttpNamespaceInput{Name: aws.String("api-only")}))
	httpID := e.namespaceFrom(t, httpOut.OperationId)
	rec := func(typ sdtypes.RecordType, ttl int64) sdtypes.DnsRecord {
		return sdtypes.DnsRecord{Type: typ, TTL: aws.Int64(ttl)}
	}
	cases := []struct {
		name string
		in   servicediscovery.CreateServiceInput
		code string
		want string
	}{
		{"bad name", servicediscovery.CreateServiceInput{Name: aws.String("a b"), NamespaceId: aws.String(nsID)}, "InvalidInput", "Invalid service Name"},
		{"no namespace", servicediscovery.CreateServiceInput{Name: aws.String("a")}, "InvalidInput", "NamespaceId is required"},
		{"unknown namespace", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String("ns-0000000000000000")}, "NamespaceNotFound", "ns-0000000000000000"},
		{"dns in http namespace", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(httpID),
			DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{rec(sdtypes.RecordTypeA, 1)}}}, "InvalidInput", "HTTP namespace"},
		{"route 53 health check", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID),
			HealthCheckConfig: &sdtypes.HealthCheckConfig{Type: sdtypes.HealthCheckTypeHttp}}, "InvalidInput", "HealthCheckCustomConfig"},
		{"cname", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID),
			DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{rec(sdtypes.RecordTypeCname, 1)}}}, "InvalidInput", "CNAME"},
		{"twice A", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID),
			DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{rec(sdtypes.RecordTypeA, 1), rec(sdtypes.RecordTypeA, 2)}}}, "InvalidInput", "twice"},
		{"no records", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID),
			DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{}}}, "InvalidInput", "DnsRecords"},
		{"negative ttl", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID),
			DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{rec(sdtypes.RecordTypeA, -1)}}}, "InvalidInput", "TTL"},
		{"type http with dns", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID), Type: sdtypes.ServiceTypeOptionHttp,
			DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{rec(sdtypes.RecordTypeA, 1)}}}, "InvalidInput", "Type HTTP"},
		{"threshold", servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID),
			HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{FailureThreshold: aws.Int32(11)}}, "InvalidInput", "FailureThreshold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sd.CreateService(e.ctx, &tc.in)
			wantErr(t, tc.name, err, tc.code, tc.want)
		})
	}
	// The deprecated DnsConfig.NamespaceId still names the namespace.
	old := must[*servicediscovery.CreateServiceOutput](t, "deprecated namespace")(e.sd.CreateService(e.ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("_http._tcp.old"), DnsConfig: &sdtypes.DnsConfig{NamespaceId: aws.String(nsID), DnsRecords: []sdtypes.DnsRecord{rec(sdtypes.RecordTypeSrv, 1)}}}))
	if aws.ToString(old.Service.NamespaceId) != nsID || old.Service.DnsConfig.RoutingPolicy != sdtypes.RoutingPolicyMultivalue {
		t.Fatalf("service = %+v; want it in %s with MULTIVALUE", old.Service, nsID)
	}
	// An HTTP service in an HTTP namespace.
	h := must[*servicediscovery.CreateServiceOutput](t, "http service")(e.sd.CreateService(e.ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("api"), NamespaceId: aws.String(httpID)}))
	if h.Service.Type != sdtypes.ServiceTypeHttp || h.Service.DnsConfig != nil {
		t.Fatalf("HTTP service = %+v", h.Service)
	}
}

func TestListServices(t *testing.T) {
	e := start(t)
	a := e.privateNamespace(t, "a.local")
	b := e.privateNamespace(t, "b.local")
	for i := range 4 {
		e.dnsService(t, a, fmt.Sprintf("s%d", i), "", false)
	}
	e.dnsService(t, b, "other", "", false)
	var names []string
	p := servicediscovery.NewListServicesPaginator(e.sd, &servicediscovery.ListServicesInput{MaxResults: aws.Int32(2),
		Filters: []sdtypes.ServiceFilter{{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{a}, Condition: sdtypes.FilterConditionEq}}})
	for p.HasMorePages() {
		for _, s := range must[*servicediscovery.ListServicesOutput](t, "page")(p.NextPage(e.ctx)).Services {
			if aws.ToString(s.Arn) == "" || s.DnsConfig == nil || aws.ToInt32(s.InstanceCount) != 0 {
				t.Fatalf("summary = %+v", s)
			}
			names = append(names, aws.ToString(s.Name))
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"s0", "s1", "s2", "s3"}) {
		t.Fatalf("services of %s = %v", a, names)
	}
	all := must[*servicediscovery.ListServicesOutput](t, "all")(e.sd.ListServices(e.ctx, &servicediscovery.ListServicesInput{}))
	if len(all.Services) != 5 {
		t.Fatalf("ListServices = %d services; want 5", len(all.Services))
	}
	_, err := e.sd.ListServices(e.ctx, &servicediscovery.ListServicesInput{MaxResults: aws.Int32(101)})
	wantErr(t, "max results", err, "InvalidInput", "MaxResults")
}
