package iam

import "testing"

const (
	prod    = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
	dev     = "arn:aws:ecs:us-east-1:123456789012:cluster/dev"
	prodSvc = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	webTD   = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"
)

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s) = %v", doc, err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	readProd := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"arn:aws:ecs:*:*:cluster/prod"}]}`
	allAll := `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	denyRunProd := `{"Statement":{"Effect":"Deny","Action":"ecs:RunTask","Resource":"arn:aws:ecs:*:123456789012:cluster/prod"}}`
	for _, tc := range []struct {
		name      string
		policies  []string
		action    string
		resources []string
		allowed   bool
		denied    string // the resource reported when not allowed
		explicit  bool
	}{
		{"no policies", nil, "ecs:DescribeClusters", []string{prod}, false, prod, false},
		{"allow matches", []string{readProd}, "ecs:DescribeClusters", []string{prod}, true, "", false},
		{"action case-insensitive", []string{readProd}, "ECS:describeclusters", []string{prod}, true, "", false},
		{"action wildcard misses", []string{readProd}, "ecs:ListClusters", []string{prod}, false, prod, false},
		{"resource other cluster", []string{readProd}, "ecs:DescribeClusters", []string{dev}, false, dev, false},
		{"resource case-sensitive", []string{readProd}, "ecs:DescribeClusters", []string{"arn:aws:ecs:us-east-1:123456789012:cluster/Prod"}, false, "arn:aws:ecs:us-east-1:123456789012:cluster/Prod", false},
		{"every resource must be allowed", []string{readProd}, "ecs:DescribeClusters", []string{prod, dev}, false, dev, false},
		{"no resource needs *", []string{readProd}, "ecs:DescribeClusters", []string{NoResource}, false, NoResource, false},
		{"empty resources means no resource", []string{readProd}, "ecs:DescribeClusters", nil, false, NoResource, false},
		{"* covers no resource", []string{allAll}, "ecs:ListClusters", []string{NoResource}, true, "", false},
		{"explicit deny beats allow across policies", []string{allAll, denyRunProd}, "ecs:RunTask", []string{webTD, prod}, false, prod, true},
		{"deny elsewhere does not matter", []string{allAll, denyRunProd}, "ecs:RunTask", []string{webTD, dev}, true, "", false},
		{"deny of other action does not matter", []string{allAll, denyRunProd}, "ecs:StopTask", []string{prod}, true, "", false},
		{"deny of other account does not match", []string{allAll, denyRunProd}, "ecs:RunTask", []string{"arn:aws:ecs:us-east-1:999999999999:cluster/prod"}, true, "", false},
		{"deny in the same policy", []string{`{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},{"Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}]}`},
			"ecs:DeleteCluster", []string{prod}, false, prod, true},
		{"NotAction allow", []string{`{"Statement":{"Effect":"Allow","NotAction":["ecs:Delete*","ecs:Deregister*"],"Resource":"*"}}`},
			"ecs:CreateCluster", []string{prod}, true, "", false},
		{"NotAction allow excludes", []string{`{"Statement":{"Effect":"Allow","NotAction":["ecs:Delete*","ecs:Deregister*"],"Resource":"*"}}`},
			"ecs:deletecluster", []string{prod}, false, prod, false},
		{"NotResource allow", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","NotResource":"arn:aws:ecs:*:*:cluster/prod"}}`},
			"ecs:DeleteCluster", []string{dev}, true, "", false},
		{"NotResource allow excludes", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","NotResource":"arn:aws:ecs:*:*:cluster/prod"}}`},
			"ecs:DeleteCluster", []string{prod}, false, prod, false},
		{"NotResource covers no resource", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","NotResource":"arn:aws:ecs:*:*:cluster/prod"}}`},
			"ecs:ListClusters", []string{NoResource}, true, "", false},
		{"NotResource deny", []string{allAll, `{"Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:ecs:*:*:*/dev*"}}`},
			"ecs:DeleteCluster", []string{prod}, false, prod, true},
		{"NotResource deny spares", []string{allAll, `{"Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:ecs:*:*:*/dev*"}}`},
			"ecs:DeleteCluster", []string{dev}, true, "", false},
		{"resource * crosses /", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:*:service/*"}}`},
			"ecs:UpdateService", []string{prodSvc}, true, "", false},
		{"? matches one character", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:*:cluster/d?v"}}`},
			"ecs:DeleteCluster", []string{dev}, true, "", false},
		{"region wildcard stays in its field", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:cluster/prod:*:*"}}`},
			"ecs:DeleteCluster", []string{"arn:aws:ecs:us-east-1:cluster/prod:x:y"}, true, "", false},
		{"region wildcard cannot eat the account", []string{`{"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:cluster/prod:*:*"}}`},
			"ecs:DeleteCluster", []string{"arn:aws:ecs:us-east-1:1:cluster/prod:x"}, false, "arn:aws:ecs:us-east-1:1:cluster/prod:x", false},
		{"nil policy skipped", []string{""}, "ecs:ListClusters", []string{NoResource}, false, NoResource, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []*Policy
			for _, doc := range tc.policies {
				if doc == "" {
					ps = append(ps, nil)
					continue
				}
				ps = append(ps, mustParse(t, doc))
			}
			got := Evaluate(ps, tc.action, tc.resources)
			want := Result{Allowed: tc.allowed}
			if !tc.allowed {
				want = Result{Action: tc.action, Resource: tc.denied, ExplicitDeny: tc.explicit}
			}
			if got != want {
				t.Errorf("Evaluate(%s, %v) = %+v; want %+v", tc.action, tc.resources, got, want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Allowed: true}, ""},
		{Result{Action: "ecs:RunTask", Resource: prod},
			"User alice is not authorized to perform: ecs:RunTask on resource: " + prod + " because no identity-based policy allows the ecs:RunTask action"},
		{Result{Action: "ecs:RunTask", Resource: prod, ExplicitDeny: true},
			"User alice is not authorized to perform: ecs:RunTask on resource: " + prod + " with an explicit deny in an identity-based policy"},
	} {
		if got := tc.r.Message("alice"); got != tc.want {
			t.Errorf("%+v.Message(alice) = %q; want %q", tc.r, got, tc.want)
		}
	}
}

func TestSSMParameterResource(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"/app/db", "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db"},
		{"plain", "arn:aws:ssm:eu-west-1:123456789012:parameter/plain"},
		{"a/b", "arn:aws:ssm:eu-west-1:123456789012:parameter/a/b"},
	} {
		if got := SSMParameterResource("eu-west-1", "123456789012", tc.name); got != tc.want {
			t.Errorf("SSMParameterResource(%q) = %q; want %q", tc.name, got, tc.want)
		}
	}
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"ssm:GetParameter*","Resource":"arn:aws:ssm:*:*:parameter/app/*"}}`)
	if r := Evaluate([]*Policy{p}, "ssm:GetParameters", []string{SSMParameterResource("eu-west-1", "1", "/app/db/password")}); !r.Allowed {
		t.Errorf("parameter/app/* does not allow /app/db/password: %+v", r)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := mustParse(b, `{"Statement":[
		{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"},
		{"Effect":"Allow","Action":["ecs:RunTask","ecs:StopTask","ecs:StartTask"],"Resource":["arn:aws:ecs:*:*:cluster/prod-*","arn:aws:ecs:*:*:task-definition/web-*:*","arn:aws:ecs:*:*:task/prod-*/*"]},
		{"Effect":"Deny","Action":"ecs:*","Resource":"arn:aws:ecs:*:*:*/secret*"}]}`)
	res := []string{"arn:aws:ecs:us-east-1:123456789012:task-definition/web-api:42", "arn:aws:ecs:us-east-1:123456789012:cluster/prod-eu"}
	ps := []*Policy{p}
	b.ReportAllocs()
	for b.Loop() {
		if !Evaluate(ps, "ecs:RunTask", res).Allowed {
			b.Fatal("denied")
		}
	}
}
