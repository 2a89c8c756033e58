package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// secOp is one operation of the policy matrix, made by a user.
type secOp struct {
	action string
	setup  func(user string) // as root, before the call; nil: none
	call   func(user string) error
	// done reports whether the call's effect is visible to root; nil for
	// reads.
	done func(user string) bool
}

// secOps are the matrix's operations on a server where root made cluster
// "fixture".
func secOps(t *testing.T, s *ecstest.Server) []secOp {
	ctx := context.Background()
	fixture := "arn:aws:ecs:us-east-1:123456789012:cluster/fixture"
	admin := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, secRegion)
	return []secOp{
		{action: "ecs:ListClusters", call: func(u string) error {
			_, err := secClient(s, u).ListClusters(ctx, &ecs.ListClustersInput{})
			return err
		}},
		{action: "ecs:DescribeClusters", call: func(u string) error {
			_, err := secClient(s, u).DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"fixture"}})
			return err
		}},
		{action: "ecs:CreateCluster", call: func(u string) error {
			_, err := secClient(s, u).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c-" + u)})
			return err
		}, done: func(u string) bool { return secClusterStatus(t, s, "c-"+u) == "ACTIVE" }},
		{action: "ecs:DeleteCluster", setup: func(u string) { secCreateCluster(t, s, "d-"+u) }, call: func(u string) error {
			_, err := secClient(s, u).DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("d-" + u)})
			return err
		}, done: func(u string) bool { return secClusterStatus(t, s, "d-"+u) == "INACTIVE" }},
		{action: "ecs:RegisterTaskDefinition", call: func(u string) error {
			_, err := secClient(s, u).RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f-" + u),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64)}}})
			return err
		}, done: func(u string) bool {
			out, err := s.Client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("f-" + u)})
			if err != nil {
				t.Fatalf("ListTaskDefinitions as root: %v", err)
			}
			return len(out.TaskDefinitionArns) > 0
		}},
		{action: "ecs:TagResource", call: func(u string) error {
			_, err := secClient(s, u).TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(fixture),
				Tags: []types.Tag{{Key: aws.String("k-" + u), Value: aws.String("v")}}})
			return err
		}, done: func(u string) bool {
			out, err := s.Client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(fixture)})
			if err != nil {
				t.Fatalf("ListTagsForResource as root: %v", err)
			}
			return slices.ContainsFunc(out.Tags, func(tg types.Tag) bool { return aws.ToString(tg.Key) == "k-"+u })
		}},
		{action: "wharf:CreateJoinToken", call: func(u string) error {
			var out agentproto.CreateJoinTokenResponse
			return secAdmin(s, u).Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.CreateJoinToken,
				agentproto.CreateJoinTokenRequest{Cluster: "fixture"}, &out)
		}, done: func(u string) bool {
			var out agentproto.ListJoinTokensResponse
			if err := admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.ListJoinTokens, agentproto.ListJoinTokensRequest{}, &out); err != nil {
				t.Fatalf("ListJoinTokens as root: %v", err)
			}
			return slices.ContainsFunc(out.JoinTokens, func(j agentproto.JoinTokenInfo) bool { return j.CreatedBy == u })
		}},
	}
}

// secDenial returns the code and message of a refusal from either client.
func secDenial(err error) (code, msg string) {
	var ae smithy.APIError
	var pe *agent.APIError
	switch {
	case errors.As(err, &ae):
		return ae.ErrorCode(), ae.ErrorMessage()
	case errors.As(err, &pe):
		return pe.Code, pe.Message
	}
	return "", ""
}

func TestPolicyMatrix(t *testing.T) {
	anyResource := func(effect, actionKey, actions string) string {
		return fmt.Sprintf(`{"Effect": %q, %q: %s, "Resource": "*"}`, effect, actionKey, actions)
	}
	s := ecstest.StartWith(t, ecstest.Options{Credentials: secCreds(t, map[string][]string{
		// Action names match case-insensitively, as in IAM.
		"reader": {secPolicy(anyResource("Allow", "Action", `["ecs:Describe*", "ecs:list*"]`))},
		// The Deny is in a second policy: it still wins over the Allow.
		"deployer": {secPolicy(anyResource("Allow", "Action", `"ecs:*"`)),
			secPolicy(anyResource("Deny", "Action", `"ecs:DeleteCluster"`))},
		"nobody": nil,
		// NotAction allows every action it does not name, wharf:* too.
		"notaction": {secPolicy(anyResource("Allow", "NotAction", `"ecs:Delete*"`))},
		"admin":     {secPolicy(anyResource("Allow", "Action", `"*"`))},
	})})
	secCreateCluster(t, s, "fixture")
	ops := secOps(t, s)
	everything := []string{}
	for _, op := range ops {
		everything = append(everything, op.action)
	}
	allowed := map[string][]string{
		"reader":    {"ecs:ListClusters", "ecs:DescribeClusters"},
		"deployer":  {"ecs:ListClusters", "ecs:DescribeClusters", "ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:TagResource"},
		"nobody":    {},
		"notaction": slices.DeleteFunc(slices.Clone(everything), func(a string) bool { return a == "ecs:DeleteCluster" }),
		"admin":     everything,
	}
	for _, user := range []string{"reader", "deployer", "nobody", "notaction", "admin"} {
		for _, op := range ops {
			if op.setup != nil {
				op.setup(user)
			}
			err := op.call(user)
			want := slices.Contains(allowed[user], op.action)
			what := user + " " + op.action
			if want {
				if err != nil {
					t.Errorf("%s: %v; want it allowed", what, err)
				} else if op.done != nil && !op.done(user) {
					t.Errorf("%s succeeded but root does not see its effect", what)
				}
				continue
			}
			code, msg := secDenial(err)
			if code != auth.CodeAccessDenied {
				t.Errorf("%s: err = %v; want %s", what, err, auth.CodeAccessDenied)
				continue
			}
			why := "because no identity-based policy allows the " + op.action + " action"
			if user == "deployer" && op.action == "ecs:DeleteCluster" {
				why = "with an explicit deny"
			}
			for _, part := range []string{"User " + user + " ", "not authorized to perform: " + op.action, why} {
				if !strings.Contains(msg, part) {
					t.Errorf("%s: message %q; want it to say %q", what, msg, part)
				}
			}
			if op.done != nil && op.done(user) {
				t.Errorf("%s was refused but root sees its effect", what)
			}
		}
	}
}

// Policies naming resource ARNs: these need the gate to evaluate ECS
// requests against the ARNs they name ((*ecsapi.API).Resources in the ECS
// service's rules), not against "*".
func TestPolicyResourceARNs(t *testing.T) {
	const arn = "arn:aws:ecs:us-east-1:123456789012:cluster/"
	s := ecstest.StartWith(t, ecstest.Options{Credentials: secCreds(t, map[string][]string{
		"devonly": {secPolicy(
			`{"Effect": "Allow", "Action": "ecs:*", "Resource": ["`+arn+`dev", "`+arn+`team-*"]}`,
			`{"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}`)},
		"notprod": {secPolicy(
			`{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}`,
			`{"Effect": "Deny", "Action": "ecs:*", "Resource": "`+arn+`prod"}`)},
	})})
	secCreateCluster(t, s, "dev", "prod")
	ctx := context.Background()
	describe := func(names ...string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names})
			return err
		}
	}
	create := func(name string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
			return err
		}
	}
	del := func(name string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
			return err
		}
	}
	tag := func(name string) func(*ecs.Client) error {
		return func(c *ecs.Client) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn + name),
				Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("x")}}})
			return err
		}
	}
	for _, c := range []struct {
		user, what string
		call       func(*ecs.Client) error
		// deniedOn is the ARN the refusal names; "" when allowed.
		deniedOn string
		explicit bool
	}{
		{"devonly", "DescribeClusters dev", describe("dev"), "", false},
		{"devonly", "DescribeClusters prod", describe("prod"), arn + "prod", false},
		{"devonly", "DescribeClusters dev and prod", describe("dev", "prod"), arn + "prod", false},
		{"devonly", "ListClusters", func(c *ecs.Client) error {
			_, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
			return err
		}, "", false},
		{"devonly", "TagResource dev", tag("dev"), "", false},
		{"devonly", "TagResource prod", tag("prod"), arn + "prod", false},
		{"devonly", "CreateCluster team-a", create("team-a"), "", false},
		{"devonly", "CreateCluster teamb", create("teamb"), arn + "teamb", false},
		{"devonly", "DeleteCluster prod", del("prod"), arn + "prod", false},
		{"notprod", "DeleteCluster prod", del("prod"), arn + "prod", true},
		{"notprod", "TagResource prod", tag("prod"), arn + "prod", true},
		{"notprod", "DescribeClusters dev and prod", describe("dev", "prod"), arn + "prod", true},
		{"notprod", "DescribeClusters dev", describe("dev"), "", false},
		{"notprod", "CreateCluster staging", create("staging"), "", false},
	} {
		what := c.user + " " + c.what
		err := c.call(secClient(s, c.user))
		if c.deniedOn == "" {
			if err != nil {
				t.Errorf("%s: %v; want it allowed", what, err)
			}
			continue
		}
		code, msg := secDenial(err)
		if code != auth.CodeAccessDenied || !strings.Contains(msg, "User "+c.user+" ") || !strings.Contains(msg, "on resource: "+c.deniedOn) ||
			c.explicit != strings.Contains(msg, "explicit deny") {
			t.Errorf("%s: err = %v; want %s naming %s and resource %s (explicit deny: %v)", what, err, auth.CodeAccessDenied, c.user, c.deniedOn, c.explicit)
		}
	}
	for name, want := range map[string]string{"dev": "ACTIVE", "prod": "ACTIVE", "team-a": "ACTIVE", "teamb": "", "staging": "ACTIVE"} {
		if got := secClusterStatus(t, s, name); got != want {
			t.Errorf("cluster %s is %q; want %q", name, got, want)
		}
	}
	out, err := s.Client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn + "prod")})
	if err != nil || len(out.Tags) != 0 {
		t.Errorf("tags of prod = %+v, %v; want none (every TagResource on it was refused)", out, err)
	}
}
