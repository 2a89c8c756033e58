package elbapi_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// queryError is the error shape of the Query protocol.
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ReqID   string   `xml:"RequestId"`
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestQueryProtocolErrors(t *testing.T) {
	e := start(t)
	cases := []struct {
		name, body, code, part string
	}{
		{"unknown action", "Action=Nope&Version=2015-12-01", "InvalidAction", "Nope"},
		{"unimplemented action", "Action=SetSubnets&Version=2015-12-01", "InvalidAction", "does not implement SetSubnets"},
		{"no action", "Version=2015-12-01", "MissingAction", "Action"},
		{"classic version", "Action=DescribeLoadBalancers&Version=2012-06-01", "InvalidAction", "aws elbv2"},
		{"other version", "Action=DescribeLoadBalancers&Version=2099-01-01", "InvalidAction", "2099-01-01"},
		{"bad form", "Action=DescribeLoadBalancers&Version=2015-12-01&x=%zz", "ValidationError", "form"},
		{"no name", "Action=CreateLoadBalancer&Version=2015-12-01", "ValidationError", "name is required"},
		{"not a number", "Action=CreateTargetGroup&Version=2015-12-01&Name=a&Protocol=HTTP&Port=eighty", "ValidationError", "Port must be a whole number"},
		{"not a boolean", "Action=CreateTargetGroup&Version=2015-12-01&Name=a&Protocol=HTTP&Port=80&HealthCheckEnabled=yes", "ValidationError", "true or false"},
		{"member zero", "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.0=a", "ValidationError", "numbered"},
		{"member too far", "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.999999999=a", "ValidationError", "numbered"},
		{"member padded", "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.01=a", "ValidationError", "numbered"},
		{"invalid UTF-8", "Action=CreateLoadBalancer&Version=2015-12-01&Name=%FF", "ValidationError", "UTF-8"},
		{"bad ARN", "Action=DeleteListener&Version=2015-12-01&ListenerArn=arn:aws:ecs:x", "ValidationError", "not a valid listener ARN"},
		{"page size", "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=0", "ValidationError", "PageSize"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, e.url, tc.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status = %d; want 400 (%s)", status, body)
			}
			var qe queryError
			if err := xml.Unmarshal(body, &qe); err != nil {
				t.Fatalf("error body is not an ErrorResponse: %v\n%s", err, body)
			}
			if qe.Code != tc.code || !strings.Contains(qe.Message, tc.part) || qe.Type != "Sender" || qe.ReqID == "" {
				t.Fatalf("error = %+v; want code %s mentioning %q", qe, tc.code, tc.part)
			}
		})
	}
	// An empty list is a list: "Names=" asks for no load balancer by name,
	// which is all of them.
	status, body := post(t, e.url, "Action=DescribeLoadBalancers&Version=2015-12-01&Names=")
	if status != http.StatusOK || !strings.Contains(string(body), "<DescribeLoadBalancersResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">") ||
		!strings.Contains(string(body), "<LoadBalancers></LoadBalancers>") {
		t.Fatalf("empty DescribeLoadBalancers = %d %s", status, body)
	}
	resp, err := http.Get(e.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET status = %d; want 400", resp.StatusCode)
	}
}
