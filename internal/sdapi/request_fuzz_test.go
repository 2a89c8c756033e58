package sdapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/sdapi"
)

var fuzzOps = []string{"CreateHttpNamespace", "CreatePrivateDnsNamespace", "GetNamespace", "ListNamespaces", "DeleteNamespace",
	"CreateService", "GetService", "ListServices", "DeleteService", "RegisterInstance", "DeregisterInstance", "GetInstance",
	"ListInstances", "GetInstancesHealthStatus", "UpdateInstanceCustomHealthStatus", "DiscoverInstances",
	"DiscoverInstancesRevision", "GetOperation", "ListOperations", "TagResource", "UntagResource", "ListTagsForResource"}

// FuzzRequests sends arbitrary bodies to every operation. Whatever arrives,
// the answer is a JSON object and never a server error: bad input is the
// client's, and says so.
func FuzzRequests(f *testing.F) {
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{"Name":"h","Tags":[{"Key":"k","Value":"v"}]}`},
		{1, `{"Name":"a.local","Vpc":"v","Properties":{"DnsProperties":{"SOA":{"TTL":60}}}}`},
		{2, `{"Id":"arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-x"}`},
		{3, `{"MaxResults":1,"Filters":[{"Name":"TYPE","Values":["HTTP","DNS_PRIVATE"],"Condition":"IN"}]}`},
		{5, `{"Name":"_http._tcp.web","NamespaceId":"ns-x","DnsConfig":{"RoutingPolicy":"WEIGHTED","DnsRecords":[{"Type":"SRV","TTL":5}]},"HealthCheckCustomConfig":{}}`},
		{9, `{"ServiceId":"srv-x","InstanceId":"i/1:a@b","Attributes":{"AWS_INSTANCE_IPV4":"10.0.0.1","AWS_INSTANCE_PORT":"80"}}`},
		{15, `{"NamespaceName":"a.local","ServiceName":"web","QueryParameters":{"a":"b"},"HealthStatus":"HEALTHY_OR_ELSE_ALL","MaxResults":1000}`},
		{18, `{"Filters":[{"Name":"UPDATE_DATE","Values":["0","99999999999"],"Condition":"BETWEEN"}]}`},
		{19, `{"ResourceARN":"arn:aws:servicediscovery:us-east-1:123456789012:service/srv-x","Tags":[]}`},
		{3, `{"NextToken":"TGlzdE5hbWVzcGFjZXMAY2xvdWRtYXAvbmFtZXNwYWNlcy94"}`},
		{0, `{"Name":7}`},
		{2, `[]`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	srv := ecstest.StartWith(f, ecstest.Options{NoAuth: true})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", sdapi.TargetPrefix+"."+name)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q: status %d %s", name, body, resp.StatusCode, answer)
		}
		var obj map[string]any
		if err := json.Unmarshal(answer, &obj); err != nil {
			t.Fatalf("%s %q: answer %q is not a JSON object", name, body, answer)
		}
		if resp.StatusCode != 200 && (resp.Header.Get("X-Amzn-ErrorType") == "" || obj["message"] == "") {
			t.Fatalf("%s %q: error %d without a code and message: %s", name, body, resp.StatusCode, answer)
		}
	})
}
