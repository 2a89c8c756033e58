package sdapi_test

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
)

var (
	nsIDForm  = regexp.MustCompile(`^ns-[a-z0-9]{16}$`)
	srvIDForm = regexp.MustCompile(`^srv-[a-z0-9]{16}$`)
	opIDForm  = regexp.MustCompile(`^[a-z0-9]{32}-[a-z0-9]{8}$`)
)

func TestNamespaceLifecycle(t *testing.T) {
	e := start(t)
	create := must[*servicediscovery.CreatePrivateDnsNamespaceOutput](t, "CreatePrivateDnsNamespace")(e.sd.CreatePrivateDnsNamespace(e.ctx,
		&servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("corp.local."), Vpc: aws.String("vpc-1"),
			Description: aws.String("internal names"), CreatorRequestId: aws.String("req-1"),
			Properties: &sdtypes.PrivateDnsNamespaceProperties{DnsProperties: &sdtypes.PrivateDnsPropertiesMutable{SOA: &sdtypes.SOA{TTL: aws.Int64(60)}}},
			Tags:       []sdtypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}))
	if !opIDForm.MatchString(aws.ToString(create.OperationId)) {
		t.Fatalf("OperationId = %q; want AWS's form", aws.ToString(create.OperationId))
	}
	op := must[*servicediscovery.GetOperationOutput](t, "GetOperation")(e.sd.GetOperation(e.ctx, &servicediscovery.GetOperationInput{OperationId: create.OperationId}))
	if op.Operation.Type != sdtypes.OperationTypeCreateNamespace || op.Operation.Status != sdtypes.OperationStatusSuccess ||
		op.Operation.CreateDate == nil || aws.ToString(op.Operation.OwnerAccount) != "123456789012" {
		t.Fatalf("operation = %+v; want CREATE_NAMESPACE SUCCESS", op.Operation)
	}
	id := op.Operation.Targets["NAMESPACE"]
	if !nsIDForm.MatchString(id) {
		t.Fatalf("namespace ID %q is not of the form ns-xxxxxxxxxxxxxxxx", id)
	}

	// The same request again (same CreatorRequestId) answers the same
	// operation; another request for the name is refused.
	again := must[*servicediscovery.CreatePrivateDnsNamespaceOutput](t, "repeat")(e.sd.CreatePrivateDnsNamespace(e.ctx,
		&servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("corp.local"), Vpc: aws.String("vpc-1"), CreatorRequestId: aws.String("req-1")}))
	if aws.ToString(again.OperationId) != aws.ToString(create.OperationId) {
		t.Fatalf("repeated create answered operation %s; want %s", aws.ToString(again.OperationId), aws.ToString(create.OperationId))
	}
	_, err := e.sd.CreateHttpNamespace(e.ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("CORP.local")})
	wantErr(t, "same name, other case", err, "NamespaceAlreadyExists", id)

	for _, ref := range []string{id, "arn:aws:servicediscovery:us-east-1:123456789012:namespace/" + id} {
		ns := must[*servicediscovery.GetNamespaceOutput](t, "GetNamespace")(e.sd.GetNamespace(e.ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(ref)})).Namespace
		if aws.ToString(ns.Id) != id || aws.ToString(ns.Name) != "corp.local" || ns.Type != sdtypes.NamespaceTypeDnsPrivate ||
			aws.ToString(ns.Arn) != "arn:aws:servicediscovery:us-east-1:123456789012:namespace/"+id ||
			aws.ToString(ns.Description) != "internal names" || aws.ToString(ns.CreatorRequestId) != "req-1" ||
			aws.ToInt32(ns.ServiceCount) != 0 || ns.CreateDate == nil || aws.ToString(ns.ResourceOwner) != "123456789012" {
			t.Fatalf("GetNamespace(%s) = %+v", ref, ns)
		}
		dp := ns.Properties.DnsProperties
		if dp == nil || !strings.HasPrefix(aws.ToString(dp.HostedZoneId), "Z") || dp.SOA == nil || aws.ToInt64(dp.SOA.TTL) != 60 ||
			aws.ToString(ns.Properties.HttpProperties.HttpName) != "corp.local" {
			t.Fatalf("properties = %+v / %+v", dp, ns.Properties.HttpProperties)
		}
	}
	tags := must[*servicediscovery.ListTagsForResourceOutput](t, "ListTagsForResource")(e.sd.ListTagsForResource(e.ctx,
		&servicediscovery.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:namespace/" + id)}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags = %+v", tags.Tags)
	}

	svc := e.dnsService(t, id, "web", "", false)
	_, err = e.sd.DeleteNamespace(e.ctx, &servicediscovery.DeleteNamespaceInput{Id: aws.String(id)})
	wantErr(t, "delete with a service", err, "ResourceInUse", "still has services")
	must[*servicediscovery.DeleteServiceOutput](t, "DeleteService")(e.sd.DeleteService(e.ctx, &servicediscovery.DeleteServiceInput{Id: svc.Id}))
	del := must[*servicediscovery.DeleteNamespaceOutput](t, "DeleteNamespace")(e.sd.DeleteNamespace(e.ctx, &servicediscovery.DeleteNamespaceInput{Id: aws.String(id)}))
	op = must[*servicediscovery.GetOperationOutput](t, "GetOperation")(e.sd.GetOperation(e.ctx, &servicediscovery.GetOperationInput{OperationId: del.OperationId}))
	if op.Operation.Type != sdtypes.OperationTypeDeleteNamespace || op.Operation.Status != sdtypes.OperationStatusSuccess {
		t.Fatalf("delete operation = %+v", op.Operation)
	}
	_, err = e.sd.GetNamespace(e.ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(id)})
	wantErr(t, "deleted", err, "NamespaceNotFound", id)
	// The name is free again.
	e.privateNamespace(t, "corp.local")
}

func TestNamespaceValidation(t *testing.T) {
	e := start(t)
	cases := []struct {
		name string
		call func() error
		code string
		want string
	}{
		{"public", func() error {
			_, err := e.sd.CreatePublicDnsNamespace(e.ctx, &servicediscovery.CreatePublicDnsNamespaceInput{Name: aws.String("example.com")})
			return err
		}, "InvalidInput", "public DNS namespaces"},
		{"no vpc", func() error {
			_, err := e.sd.CreatePrivateDnsNamespace(e.ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("a.local"), Vpc: aws.String("")})
			return err
		}, "InvalidInput", "Vpc is required"},
		{"bad dns name", func() error {
			_, err := e.sd.CreatePrivateDnsNamespace(e.ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("a b.local"), Vpc: aws.String("v")})
			return err
		}, "InvalidInput", "DNS domain name"},
		{"long label", func() error {
			_, err := e.sd.CreatePrivateDnsNamespace(e.ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String(strings.Repeat("x", 64) + ".local"), Vpc: aws.String("v")})
			return err
		}, "InvalidInput", "63 characters"},
		{"http arn name", func() error {
			_, err := e.sd.CreateHttpNamespace(e.ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("arn:x")})
			return err
		}, "InvalidInput", "not beginning with arn:"},
		{"negative soa", func() error {
			_, err := e.sd.CreatePrivateDnsNamespace(e.ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("b.local"), Vpc: aws.String("v"),
				Properties: &sdtypes.PrivateDnsNamespaceProperties{DnsProperties: &sdtypes.PrivateDnsPropertiesMutable{SOA: &sdtypes.SOA{TTL: aws.Int64(-1)}}}})
			return err
		}, "InvalidInput", "SOA TTL"},
		{"reserved tag", func() error {
			_, err := e.sd.CreateHttpNamespace(e.ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("h"),
				Tags: []sdtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
			return err
		}, "InvalidInput", "reserved"},
		{"unknown id", func() error {
			_, err := e.sd.GetNamespace(e.ctx, &servicediscovery.GetNamespaceInput{Id: aws.String("ns-aaaaaaaaaaaaaaaa")})
			return err
		}, "NamespaceNotFound", "ns-aaaaaaaaaaaaaaaa"},
		{"foreign arn", func() error {
			_, err := e.sd.GetNamespace(e.ctx, &servicediscovery.GetNamespaceInput{Id: aws.String("arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-x")})
			return err
		}, "NamespaceNotFound", "eu-west-1"},
		{"unknown operation", func() error {
			_, err := e.sd.GetOperation(e.ctx, &servicediscovery.GetOperationInput{OperationId: aws.String("nope")})
			return err
		}, "OperationNotFound", "nope"},
		{"bad filter", func() error {
			_, err := e.sd.ListNamespaces(e.ctx, &servicediscovery.ListNamespacesInput{Filters: []sdtypes.NamespaceFilter{
				{Name: sdtypes.NamespaceFilterNameType, Values: []string{"HTTP"}, Condition: sdtypes.FilterConditionBeginsWith}}})
			return err
		}, "InvalidInput", "does not take Condition"},
		{"bad token", func() error {
			_, err := e.sd.ListNamespaces(e.ctx, &servicediscovery.ListNamespacesInput{NextToken: aws.String("garbage")})
			return err
		}, "InvalidInput", "NextToken"},
		{"unsupported", func() error {
			_, err := e.sd.UpdateHttpNamespace(e.ctx, &servicediscovery.UpdateHttpNamespaceInput{Id: aws.String("ns-x"),
				Namespace: &sdtypes.HttpNamespaceChange{Description: aws.String("d")}})
			return err
		}, "UnsupportedFeatureException", "UpdateHttpNamespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.call(), tc.code, tc.want) })
	}
	// Nothing of the refused requests was created.
	list := must[*servicediscovery.ListNamespacesOutput](t, "ListNamespaces")(e.sd.ListNamespaces(e.ctx, &servicediscovery.ListNamespacesInput{}))
	if len(list.Namespaces) != 0 {
		t.Fatalf("namespaces after refused creates: %+v", list.Namespaces)
	}
}

func TestListNamespacesFiltersAndPages(t *testing.T) {
	e := start(t)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("ns%d.local", i)
		e.privateNamespace(t, name)
		want = append(want, name)
	}
	for i := range 3 {
		out := must[*servicediscovery.CreateHttpNamespaceOutput](t, "CreateHttpNamespace")(e.sd.CreateHttpNamespace(e.ctx,
			&servicediscovery.CreateHttpNamespaceInput{Name: aws.String(fmt.Sprintf("http-%d", i))}))
		e.namespaceFrom(t, out.OperationId)
		want = append(want, fmt.Sprintf("http-%d", i))
	}
	var got []string
	p := servicediscovery.NewListNamespacesPaginator(e.sd, &servicediscovery.ListNamespacesInput{MaxResults: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		page := must[*servicediscovery.ListNamespacesOutput](t, "page")(p.NextPage(e.ctx))
		pages++
		for _, n := range page.Namespaces {
			got = append(got, aws.ToString(n.Name))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("paged namespaces = %v in %d pages; want %v in 3", got, pages, want)
	}
	filtered := func(f ...sdtypes.NamespaceFilter) []string {
		out := must[*servicediscovery.ListNamespacesOutput](t, "filtered")(e.sd.ListNamespaces(e.ctx, &servicediscovery.ListNamespacesInput{Filters: f}))
		var names []string
		for _, n := range out.Namespaces {
			names = append(names, aws.ToString(n.Name))
		}
		slices.Sort(names)
		return names
	}
	if got := filtered(sdtypes.NamespaceFilter{Name: sdtypes.NamespaceFilterNameType, Values: []string{"HTTP"}}); !reflect.DeepEqual(got, []string{"http-0", "http-1", "http-2"}) {
		t.Fatalf("TYPE EQ HTTP = %v", got)
	}
	if got := filtered(sdtypes.NamespaceFilter{Name: sdtypes.NamespaceFilterNameName, Values: []string{"ns1"}, Condition: sdtypes.FilterConditionBeginsWith}); !reflect.DeepEqual(got, []string{"ns1.local"}) {
		t.Fatalf("NAME BEGINS_WITH ns1 = %v", got)
	}
	if got := filtered(
		sdtypes.NamespaceFilter{Name: sdtypes.NamespaceFilterNameType, Values: []string{"HTTP", "DNS_PRIVATE"}, Condition: sdtypes.FilterConditionIn},
		sdtypes.NamespaceFilter{Name: sdtypes.NamespaceFilterNameHttpName, Values: []string{"http-2"}},
	); !reflect.DeepEqual(got, []string{"http-2"}) {
		t.Fatalf("TYPE IN + HTTP_NAME = %v", got)
	}
}
