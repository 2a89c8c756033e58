package ecsapi

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/iam"
	"github.com/wharf-ecs/wharf/internal/model"
)

const (
	azRegion  = "eu-west-3"
	azAccount = "210987654321"
	azPrefix  = "arn:aws:ecs:" + azRegion + ":" + azAccount + ":"
	instID    = "0123456789abcdef0123456789abcdef"
	taskID    = "fedcba9876543210fedcba9876543210"
)

func authzAPI() *API { return New(Config{Region: azRegion, AccountID: azAccount}) }

func TestResources(t *testing.T) {
	a := authzAPI()
	cl := func(n string) string { return azPrefix + "cluster/" + n }
	for _, tc := range []struct {
		op, body string
		want     []string
	}{
		{"CreateCluster", `{}`, []string{cl("default")}},
		{"CreateCluster", `{"clusterName":"prod"}`, []string{cl("prod")}},
		{"DeleteCluster", `{"cluster":"prod"}`, []string{cl("prod")}},
		{"DeleteCluster", `{"cluster":"arn:aws:ecs:us-east-1:111111111111:cluster/prod"}`, []string{cl("prod")}}, // rebuilt for this endpoint
		{"UpdateCluster", ``, []string{cl("default")}},
		{"UpdateClusterSettings", `{"cluster":"prod","settings":[]}`, []string{cl("prod")}},
		{"PutClusterCapacityProviders", `{"cluster":"prod"}`, []string{cl("prod")}},
		{"DescribeClusters", `{}`, []string{cl("default")}},
		{"DescribeClusters", `{"clusters":["a","` + cl("b") + `"]}`, []string{cl("a"), cl("b")}},
		{"ListServices", `{"cluster":"prod"}`, []string{cl("prod")}},
		{"ListTasks", `{}`, []string{cl("default")}},
		{"ListContainerInstances", `{"cluster":"prod"}`, []string{cl("prod")}},
		{"ListAttributes", `{"cluster":"prod","targetType":"container-instance"}`, []string{cl("prod")}},
		{"PutAttributes", `{"cluster":"prod","attributes":[{"name":"a","targetId":"` + instID + `"}]}`, []string{cl("prod")}},
		{"DeleteAttributes", `{"attributes":[]}`, []string{cl("default")}},
		{"RegisterContainerInstance", `{"cluster":"prod"}`, []string{cl("prod")}},
		{"SubmitAttachmentStateChanges", `{"cluster":"prod"}`, []string{cl("prod")}},

		{"DescribeContainerInstances", `{"cluster":"prod","containerInstances":["` + instID + `","` + azPrefix + `container-instance/other/abc"]}`,
			[]string{azPrefix + "container-instance/prod/" + instID, azPrefix + "container-instance/other/abc"}},
		{"UpdateContainerInstancesState", `{"containerInstances":["` + instID + `"],"status":"DRAINING"}`,
			[]string{azPrefix + "container-instance/default/" + instID}},
		{"DeregisterContainerInstance", `{"cluster":"prod","containerInstance":"` + instID + `"}`,
			[]string{azPrefix + "container-instance/prod/" + instID}},
		{"DeregisterContainerInstance", `{}`, []string{iam.NoResource}}, // the operation refuses it

		{"StopTask", `{"cluster":"prod","task":"` + taskID + `"}`, []string{azPrefix + "task/prod/" + taskID}},
		{"StopTask", `{"task":"arn:aws:ecs:us-east-1:1:task/prod/` + taskID + `"}`, []string{azPrefix + "task/prod/" + taskID}},
		{"DescribeTasks", `{"cluster":"prod","tasks":["a1","b2"]}`, []string{azPrefix + "task/prod/a1", azPrefix + "task/prod/b2"}},
		{"RunTask", `{"cluster":"prod","taskDefinition":"web:3"}`, []string{azPrefix + "task-definition/web:3", cl("prod")}},
		{"RunTask", `{"taskDefinition":"web"}`, []string{azPrefix + "task-definition/web:*", cl("default")}},
		{"RunTask", `{"taskDefinition":"arn:aws:ecs:us-east-1:1:task-definition/web:12"}`, []string{azPrefix + "task-definition/web:12", cl("default")}},
		{"StartTask", `{"cluster":"prod","taskDefinition":"web:1","containerInstances":["` + instID + `"]}`,
			[]string{azPrefix + "task-definition/web:1", cl("prod"), azPrefix + "container-instance/prod/" + instID}},
		{"SubmitTaskStateChange", `{"cluster":"prod","task":"` + taskID + `","status":"RUNNING","wharfStopCode":""}`,
			[]string{cl("prod"), azPrefix + "task/prod/" + taskID}},
		{"SubmitTaskStateChange", `{"cluster":"prod"}`, []string{cl("prod")}},
		{"SubmitContainerStateChange", `{"task":"` + taskID + `","containerName":"app"}`,
			[]string{cl("default"), azPrefix + "task/default/" + taskID}},
		{agentproto.PollTasks, `{"cluster":"prod","containerInstanceArn":"` + azPrefix + `container-instance/prod/` + instID + `"}`,
			[]string{cl("prod"), azPrefix + "container-instance/prod/" + instID}},

		{"CreateService", `{"cluster":"prod","serviceName":"web","taskDefinition":"web"}`,
			[]string{azPrefix + "service/prod/web", azPrefix + "task-definition/web:*"}},
		{"UpdateService", `{"service":"web","desiredCount":2}`, []string{azPrefix + "service/default/web"}},
		{"UpdateService", `{"cluster":"prod","service":"web","taskDefinition":"web:4"}`,
			[]string{azPrefix + "service/prod/web", azPrefix + "task-definition/web:4"}},
		{"DeleteService", `{"service":"arn:aws:ecs:us-east-1:1:service/prod/web"}`, []string{azPrefix + "service/prod/web"}},
		{"DescribeServices", `{"cluster":"prod","services":["a","b"]}`, []string{azPrefix + "service/prod/a", azPrefix + "service/prod/b"}},

		{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[]}`, []string{azPrefix + "task-definition/web:*"}},
		{"DescribeTaskDefinition", `{"taskDefinition":"web"}`, []string{azPrefix + "task-definition/web:*"}},
		{"DescribeTaskDefinition", `{"taskDefinition":"web:2"}`, []string{azPrefix + "task-definition/web:2"}},
		{"DeregisterTaskDefinition", `{"taskDefinition":"web:2"}`, []string{azPrefix + "task-definition/web:2"}},
		{"DeleteTaskDefinitions", `{"taskDefinitions":["web:1","api:7"]}`, []string{azPrefix + "task-definition/web:1", azPrefix + "task-definition/api:7"}},

		{"TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:1:cluster/prod","tags":[]}`, []string{cl("prod")}},
		{"UntagResource", `{"resourceArn":"` + azPrefix + `service/prod/web","tagKeys":["a"]}`, []string{azPrefix + "service/prod/web"}},
		{"ListTagsForResource", `{"resourceArn":"` + azPrefix + `task-definition/web:3"}`, []string{azPrefix + "task-definition/web:3"}},
		{"ListTagsForResource", `{"resourceArn":"` + azPrefix + `task/prod/` + taskID + `"}`, []string{azPrefix + "task/prod/" + taskID}},
		{"ListTagsForResource", `{"resourceArn":"` + azPrefix + `capacity-provider/cp1"}`, []string{azPrefix + "capacity-provider/cp1"}},

		{"CreateCapacityProvider", `{"name":"cp1"}`, []string{azPrefix + "capacity-provider/cp1"}},
		{"UpdateCapacityProvider", `{"name":"arn:aws:ecs:us-east-1:1:capacity-provider/cp1"}`, []string{azPrefix + "capacity-provider/cp1"}},
		{"DeleteCapacityProvider", `{"capacityProvider":"cp1"}`, []string{azPrefix + "capacity-provider/cp1"}},
		{"DescribeCapacityProviders", `{"capacityProviders":["cp1","FARGATE"]}`, []string{azPrefix + "capacity-provider/cp1", azPrefix + "capacity-provider/FARGATE"}},
		{"DescribeCapacityProviders", `{}`, []string{iam.NoResource}},

		{"ListClusters", `{}`, []string{iam.NoResource}},
		{"ListTaskDefinitions", `{"familyPrefix":"web"}`, []string{iam.NoResource}},
		{"PutAccountSetting", `{"name":"containerInsights","value":"enabled"}`, []string{iam.NoResource}},
		{"DiscoverPollEndpoint", `{"cluster":"prod"}`, []string{iam.NoResource}},
		{"NoSuchOperation", `{"cluster":"prod"}`, []string{iam.NoResource}},
	} {
		got, err := a.Resources(tc.op, []byte(tc.body))
		if err != nil {
			t.Errorf("Resources(%s, %s) = %v", tc.op, tc.body, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Resources(%s, %s) = %q; want %q", tc.op, tc.body, got, tc.want)
		}
	}
}

// TestResourcesRefuses covers bodies that do not decode and names that
// would put a wildcard or a path separator into an ARN.
func TestResourcesRefuses(t *testing.T) {
	a := authzAPI()
	for _, tc := range []struct {
		op, body, code, msg string
	}{
		{"DeleteCluster", `[]`, awsproto.CodeSerialization, "JSON object"},
		{"DeleteCluster", `{"cluster":3}`, awsproto.CodeSerialization, "cluster"},
		{"RunTask", `{"taskDefinition":`, awsproto.CodeSerialization, "not valid JSON"},
		{"SubmitTaskStateChange", `{"wharfContainerHealth":[]}`, awsproto.CodeSerialization, "wharfContainerHealth"},
		{"DeleteCluster", `{"cluster":"pr*d"}`, codeInvalidParameter, "pr*d"},
		{"DeleteCluster", `{"cluster":"prod/x"}`, codeInvalidParameter, "prod/x"},
		{"CreateCluster", `{"clusterName":"*"}`, codeInvalidParameter, `"*"`},
		{"CreateCapacityProvider", `{"name":"cp*"}`, codeInvalidParameter, `"cp*"`},
		{"DescribeCapacityProviders", `{"capacityProviders":["a/b"]}`, codeInvalidParameter, `"a/b"`},
		{"CreateCluster", `{"clusterName":"` + azPrefix + `cluster/prod"}`, codeInvalidParameter, "cluster name"},
		{"DescribeClusters", `{"clusters":["ok","p?"]}`, codeInvalidParameter, "p?"},
		{"DescribeClusters", `{"clusters":["arn:aws:ecs:r:a:cluster/*"]}`, codeInvalidParameter, `"*"`},
		{"DescribeContainerInstances", `{"cluster":"prod","containerInstances":["ab*"]}`, codeInvalidParameter, "ab*"},
		{"DescribeContainerInstances", `{"containerInstances":["` + azPrefix + `container-instance/*/abc"]}`, codeInvalidParameter, `"*"`},
		{"DescribeContainerInstances", `{"containerInstances":["` + azPrefix + `container-instance/prod/a?c"]}`, codeInvalidParameter, "a?c"},
		{"UpdateContainerInstancesState", `{"cluster":"prod*","containerInstances":["abc"]}`, codeInvalidParameter, "prod*"},
		{"StopTask", `{"task":"` + azPrefix + `task/pr*/` + taskID + `"}`, codeInvalidParameter, "pr*"},
		{"StopTask", `{"task":"a/b"}`, codeInvalidParameter, "a/b"},
		{"DescribeTasks", `{"tasks":["*"]}`, codeInvalidParameter, "Task Identifier"},
		{"DescribeServices", `{"services":["` + azPrefix + `service/p?/web"]}`, codeInvalidParameter, "p?"},
		{"UpdateService", `{"service":"web*"}`, codeInvalidParameter, "web*"},
		{"CreateService", `{"serviceName":"w/eb"}`, codeInvalidParameter, "w/eb"},
		{"RunTask", `{"taskDefinition":"web*"}`, codeClient, "web*"},
		{"RunTask", `{"taskDefinition":"web:*"}`, codeClient, "revision"},
		{"RunTask", `{"taskDefinition":"arn:aws:ecs:r:a:task-definition/web"}`, codeClient, "family:revision"},
		{"RegisterTaskDefinition", `{"family":"web:*"}`, codeInvalidParameter, "family"},
		{"DeleteTaskDefinitions", `{"taskDefinitions":["web:1","*"]}`, codeClient, `"*"`},
		{"TagResource", `{"resourceArn":"cluster/prod"}`, codeInvalidParameter, "not an ECS resource ARN"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:r:a:cluster/pr*"}`, codeInvalidParameter, "cluster ARN"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:r:a:task/` + taskID + `"}`, codeInvalidParameter, "long task ARN"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:r:a:service/prod/web/x"}`, codeInvalidParameter, "long service ARN"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:r:a:task-definition/web:*"}`, codeInvalidParameter, "task definition ARN"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:r:a:task-set/c/s/ecs-svc/1"}`, codeInvalidParameter, "cannot tag"},
		{agentproto.PollTasks, `{"containerInstanceArn":"x:y"}`, codeInvalidParameter, "x:y"},
		{"DescribeTasks", `{"tasks":[` + strings.Repeat(`"a",`, maxNamed) + `"a"]}`, codeInvalidParameter, "at most 100 tasks"},
		{"DescribeClusters", `{"clusters":[` + strings.Repeat(`"a",`, maxNamed) + `"a"]}`, codeInvalidParameter, "at most 100 clusters"},
	} {
		got, err := a.Resources(tc.op, []byte(tc.body))
		e, ok := awsproto.AsError(err)
		if !ok || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("Resources(%s, %s) = %q, %v; want %s mentioning %q", tc.op, tc.body, got, err, tc.code, tc.msg)
		}
	}
}

// TestResourcesCoverEveryOperation fails when an operation Wharf implements
// has no rule: a new operation must say what it names, or join
// noResourceOps on purpose, rather than silently be judged against "*".
func TestResourcesCoverEveryOperation(t *testing.T) {
	a := authzAPI()
	var ops []string
	for op := range model.Operations {
		if a.Service().Implemented(op) {
			ops = append(ops, op)
		}
	}
	if !a.AgentService().Implemented(agentproto.PollTasks) {
		t.Fatalf("the agent service does not implement %s", agentproto.PollTasks)
	}
	ops = append(ops, agentproto.PollTasks)
	sort.Strings(ops)
	if len(ops) < 40 {
		t.Fatalf("only %d implemented operations found: %v", len(ops), ops)
	}
	for _, op := range ops {
		_, hasRule := resourceRules[op]
		noResource := slices.Contains(noResourceOps, op)
		switch {
		case hasRule && noResource:
			t.Errorf("%s has a rule and is listed in noResourceOps", op)
		case !hasRule && !noResource:
			t.Errorf("%s is implemented but has no resource rule: add one to resourceRules (authz.go), or list it in noResourceOps if it names no resource", op)
		case noResource:
			// Judged against "*" whatever the body.
			if got, err := a.Resources(op, []byte(`{}`)); err != nil || !slices.Equal(got, []string{iam.NoResource}) {
				t.Errorf("Resources(%s, {}) = %q, %v; want [*]", op, got, err)
			}
		}
	}
	for _, op := range noResourceOps {
		if !model.Operations[op] {
			t.Errorf("noResourceOps lists %s, which is no ECS operation", op)
		}
	}
}

// TestResourcesWithPolicies runs the rules through policy evaluation: the
// requests a scoped policy should let through and those it should not.
func TestResourcesWithPolicies(t *testing.T) {
	a := authzAPI()
	pol, err := iam.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"},
		{"Effect":"Allow","Action":["ecs:RunTask","ecs:StopTask"],"Resource":[
			"arn:aws:ecs:*:*:cluster/dev","arn:aws:ecs:*:*:task/dev/*","arn:aws:ecs:*:*:task-definition/web:*"]},
		{"Effect":"Deny","Action":"ecs:*","Resource":"arn:aws:ecs:*:*:task-definition/secret*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op, body string
		allowed  bool
	}{
		{"RunTask", `{"cluster":"dev","taskDefinition":"web"}`, true},
		{"RunTask", `{"cluster":"dev","taskDefinition":"web:7"}`, true},
		{"RunTask", `{"cluster":"prod","taskDefinition":"web:7"}`, false},
		{"RunTask", `{"taskDefinition":"web:7"}`, false}, // the default cluster
		{"RunTask", `{"cluster":"dev","taskDefinition":"api"}`, false},
		{"StopTask", `{"cluster":"dev","task":"` + taskID + `"}`, true},
		{"StopTask", `{"cluster":"dev","task":"arn:aws:ecs:` + azRegion + `:` + azAccount + `:task/prod/` + taskID + `"}`, false},
		{"DescribeTaskDefinition", `{"taskDefinition":"secret"}`, false},
		{"DescribeTaskDefinition", `{"taskDefinition":"secret:1"}`, false},
		{"DescribeTaskDefinition", `{"taskDefinition":"web"}`, true},
		{"ListClusters", `{}`, true},
	} {
		res, err := a.Resources(tc.op, []byte(tc.body))
		if err != nil {
			t.Fatalf("Resources(%s, %s) = %v", tc.op, tc.body, err)
		}
		if got := iam.Evaluate([]*iam.Policy{pol}, "ecs:"+tc.op, res); got.Allowed != tc.allowed {
			t.Errorf("%s %s on %q: %+v; want allowed=%v", tc.op, tc.body, res, got, tc.allowed)
		}
	}
}

// FuzzResources: whatever the operation and body, Resources answers an API
// error or a non-empty list of this endpoint's ARNs (or "*") that hold no
// wildcard but the documented task-definition/FAMILY:* form.
func FuzzResources(f *testing.F) {
	ops := []string{agentproto.PollTasks, "NoSuchOperation"}
	for op := range resourceRules {
		ops = append(ops, op)
	}
	ops = append(ops, noResourceOps...)
	sort.Strings(ops)
	for i, body := range []string{
		`{"cluster":"prod","task":"abc","taskDefinition":"web"}`,
		`{"containerInstances":["a","arn:aws:ecs:r:a:container-instance/c/i"],"services":["s"]}`,
		`{"resourceArn":"arn:aws:ecs:r:a:task/c/t"}`, `{"clusters":["a","b"]}`, `{"family":"f"}`,
		`{"taskDefinitions":["a:1"]}`, `{"tasks":["t"]}`, `{"containerInstanceArn":"i"}`, `[]`, ``, `{"cluster":null}`,
	} {
		f.Add(ops[i%len(ops)], []byte(body))
		f.Add(ops[(i*7+3)%len(ops)], []byte(body))
	}
	a := authzAPI()
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		res, err := a.Resources(op, body)
		if err != nil {
			if e, ok := awsproto.AsError(err); !ok || e.Message == "" {
				t.Fatalf("Resources(%q, %q) = %v; want an API error", op, body, err)
			}
			return
		}
		if len(res) == 0 {
			t.Fatalf("Resources(%q, %q) named nothing", op, body)
		}
		for _, r := range res {
			if r == iam.NoResource {
				continue
			}
			rest, ok := strings.CutPrefix(r, azPrefix)
			if !ok {
				t.Fatalf("Resources(%q, %q) = %q: %q is not an ARN of this endpoint", op, body, res, r)
			}
			rest = strings.TrimSuffix(rest, ":*")
			if strings.ContainsAny(rest, "*?") || strings.HasSuffix(r, ":*") && !strings.HasPrefix(rest, "task-definition/") {
				t.Fatalf("Resources(%q, %q) = %q: %q holds a wildcard", op, body, res, r)
			}
		}
	})
}
