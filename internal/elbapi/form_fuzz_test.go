package elbapi

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

func TestDecodeForm(t *testing.T) {
	vals, err := url.ParseQuery("LoadBalancerArn=arn&Protocol=HTTP&Port=8080" +
		"&DefaultActions.member.2.Type=fixed-response&DefaultActions.member.2.FixedResponseConfig.StatusCode=404" +
		"&DefaultActions.member.1.Type=forward&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=tg" +
		"&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=3&Tags=&Unknown=1")
	if err != nil {
		t.Fatal(err)
	}
	var in createListenerInput
	if err := decodeForm(vals, &in); err != nil {
		t.Fatal(err)
	}
	port, weight := int32(8080), int32(3)
	want := createListenerInput{
		LoadBalancerArn: "arn", Protocol: "HTTP", Port: &port,
		DefaultActions: []actionIn{
			{Type: "forward", ForwardConfig: &forwardIn{TargetGroups: []tupleIn{{TargetGroupArn: "tg", Weight: &weight}}}},
			{Type: "fixed-response", FixedResponseConfig: &fixedResponseIn{StatusCode: "404"}},
		},
		Tags: []tagIn{},
	}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("decodeForm = %+v; want %+v", in, want)
	}
}

// FuzzDecodeForm feeds arbitrary form bodies to the decoder of the most
// nested input: it must answer a ValidationError or a value, never panic.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{
		"",
		"Port=80&Protocol=HTTP",
		"DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=x",
		"DefaultActions.member.1.ForwardConfig.TargetGroups.member.3.Weight=-1",
		"Tags.member.1.Key=k&Tags.member.1.Value=v&Tags=",
		"Port=99999999999&DefaultActions.member.0.Type=x",
		"DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=maybe",
		"Conditions.member.1.PathPatternConfig.Values.member.1000=/a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		vals, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		var in createListenerInput
		if err := decodeForm(vals, &in); err != nil {
			if e, ok := awsproto.AsError(err); !ok || e.Code != codeValidation {
				t.Fatalf("decodeForm(%q) = %v; want a ValidationError", body, err)
			}
		}
		var rule createRuleInput
		if err := decodeForm(vals, &rule); err != nil {
			if e, ok := awsproto.AsError(err); !ok || e.Code != codeValidation {
				t.Fatalf("decodeForm(%q) into a rule = %v; want a ValidationError", body, err)
			}
		}
	})
}

// FuzzQueryRequest sends arbitrary bodies through the whole handler: every
// answer is XML, and none is a server error.
func FuzzQueryRequest(f *testing.F) {
	for _, s := range []string{
		"Action=CreateLoadBalancer&Version=2015-12-01&Name=a",
		"Action=CreateTargetGroup&Version=2015-12-01&Name=t&Protocol=HTTP&Port=80&Matcher.HttpCode=200-299",
		"Action=CreateListener&Version=2015-12-01&LoadBalancerArn=arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/1&Port=1",
		"Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=x&Targets.member.1.Id=10.0.0.1",
		"Action=CreateRule&Version=2015-12-01&Conditions.member.1.Field=path-pattern&Priority=1",
		"Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/0",
		"Action=ModifyTargetGroupAttributes&Version=2015-12-01&Attributes.member.1.Key=k",
		"Action=AddTags&Version=2015-12-01&ResourceArns.member.1=arn&Tags.member.1.Key=a",
	} {
		f.Add(s)
	}
	st, err := bolt.Open(filepath.Join(f.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	a := New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	go a.RunJanitor(ctx)
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		a.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("body %q answered %d: %s", body, w.Code, w.Body)
		}
		b, _ := io.ReadAll(w.Body)
		var any struct{ XMLName xml.Name }
		if err := xml.Unmarshal(b, &any); err != nil {
			t.Fatalf("body %q answered non-XML %q", body, b)
		}
	})
}
