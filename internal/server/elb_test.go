package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/lb"
	"github.com/wharf-ecs/wharf/internal/server"
)

func elbClient(url, id, secret string) *elb.Client {
	return elb.New(elb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func elbCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func lbFreePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// lbBackend is an HTTP target answering its name.
func lbBackend(t *testing.T, name string) int32 {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return int32(srv.Listener.Addr().(*net.TCPAddr).Port)
}

func lbWait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lbGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// setUpALB creates an application load balancer forwarding port to an ip
// target group with the given targets (on loopback), health checked on /.
func setUpALB(t *testing.T, c *elb.Client, name string, port int32, targets ...int32) (lbArn, tgArn string) {
	t.Helper()
	ctx := context.Background()
	lbOut, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	tgOut, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + "-tg"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), TargetType: types.TargetTypeEnumIp, HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2)})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	lbArn, tgArn = aws.ToString(lbOut.LoadBalancers[0].LoadBalancerArn), aws.ToString(tgOut.TargetGroups[0].TargetGroupArn)
	if _, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbArn), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(port), DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn)}}}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	var descs []types.TargetDescription
	for _, p := range targets {
		descs = append(descs, types.TargetDescription{Id: aws.String("127.0.0.1"), Port: aws.Int32(p)})
	}
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgArn), Targets: descs}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	lbWait(t, 10*time.Second, "every target healthy", func() bool {
		out, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgArn)})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth.State != types.TargetHealthStateEnumHealthy {
				return false
			}
		}
		return len(out.TargetHealthDescriptions) == len(targets)
	})
	return lbArn, tgArn
}

// The server serves the ELBv2 API to signed callers only, and its own data
// plane binds the listeners: HTTP through the load balancer reaches the
// registered targets in turn.
func TestLoadBalancingThroughTheServer(t *testing.T) {
	s := ecstest.Start(t)
	c := elbClient(s.URL(), ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	ctx := context.Background()
	port := lbFreePort(t)
	setUpALB(t, c, "front", port, lbBackend(t, "one"), lbBackend(t, "two"), lbBackend(t, "three"))
	url := "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	lbWait(t, 5*time.Second, "the listener serving", func() bool {
		code, _, err := lbGet(url)
		return err == nil && code == 200
	})
	counts := map[string]int{}
	for range 30 {
		code, body, err := lbGet(url)
		if err != nil || code != 200 {
			t.Fatalf("GET through the load balancer = %d %q %v", code, body, err)
		}
		counts[body]++
	}
	if counts["one"] != 10 || counts["two"] != 10 || counts["three"] != 10 {
		t.Errorf("30 requests went %v; want 10 to each target", counts)
	}

	// ECS calls still reach ECS beside the Query protocol.
	if _, err := s.Client.ListClusters(ctx, nil); err != nil {
		t.Errorf("ECS ListClusters beside ELB: %v", err)
	}
	// Refusals carry the Query protocol's codes.
	_, err := elbClient(s.URL(), ecstest.TestAccessKeyID, "wrong").DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if got := elbCode(err); got != "SignatureDoesNotMatch" {
		t.Errorf("a wrong secret = %v (%s); want SignatureDoesNotMatch", err, got)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL(), strings.NewReader("Action=DescribeLoadBalancers&Version=2015-12-01"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("an unsigned request = %d %s; want 403 MissingAuthenticationToken", resp.StatusCode, b)
	}

}

// Users' policies govern the ELBv2 actions as elasticloadbalancing:Action
// on the ARNs a request names.
func TestLoadBalancingPolicies(t *testing.T) {
	creds := secCreds(t, map[string][]string{
		"reader": {secPolicy(`{"Effect": "Allow", "Action": "elasticloadbalancing:Describe*", "Resource": "*"}`)},
		"tgadmin": {secPolicy(`{"Effect": "Allow", "Action": "elasticloadbalancing:*", "Resource": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/team-*"}`,
			`{"Effect": "Allow", "Action": "elasticloadbalancing:CreateTargetGroup", "Resource": "*"}`)},
	})
	s := ecstest.StartWith(t, ecstest.Options{Credentials: creds})
	ctx := context.Background()
	root := elbClient(s.URL(), ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	id, secret := secKey("reader")
	reader := elbClient(s.URL(), id, secret)
	if _, err := reader.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{}); err != nil {
		t.Errorf("reader DescribeLoadBalancers: %v", err)
	}
	_, err := reader.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("nope")})
	if elbCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "elasticloadbalancing:CreateLoadBalancer") {
		t.Errorf("reader CreateLoadBalancer = %v; want AccessDenied naming elasticloadbalancing:CreateLoadBalancer", err)
	}
	if out, _ := root.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{}); len(out.LoadBalancers) != 0 {
		t.Errorf("a refused CreateLoadBalancer created %+v", out.LoadBalancers)
	}
	id, secret = secKey("tgadmin")
	tgadmin := elbClient(s.URL(), id, secret)
	mk := func(name string) string {
		out, err := root.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	mine, theirs := mk("team-a"), mk("other")
	attrs := []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")}}
	if _, err := tgadmin.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(mine), Attributes: attrs}); err != nil {
		t.Errorf("tgadmin on its own target group: %v", err)
	}
	_, err = tgadmin.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(theirs), Attributes: attrs})
	if elbCode(err) != "AccessDenied" {
		t.Errorf("tgadmin on another target group = %v; want AccessDenied", err)
	}
	// The data plane's configuration is for root or users allowed
	// wharf:GetLoadBalancerConfig.
	id, secret = secKey("reader")
	_, err = (&lb.Remote{Endpoint: s.URL(), Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")}).Next(ctx, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("reader reading the data plane configuration = %v; want AccessDenied", err)
	}
}

// A `wharf lb` node follows the configuration through the server's API and
// serves the listeners itself, here with the server's own data plane off.
func TestRemoteDataPlane(t *testing.T) {
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Credentials: ecstest.RootCredentials(),
		LoadBalancerAddress: "off"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	lbWait(t, 5*time.Second, "the server up", func() bool {
		code, _, err := lbGet(srv.URL() + "/healthz")
		return err == nil && code == 200
	})
	c := elbClient(srv.URL(), ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	port := lbFreePort(t)
	url := "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	setUpALB(t, c, "remote", port, lbBackend(t, "only"))
	if _, _, err := lbGet(url); err == nil {
		t.Fatal("the server bound a listener with --lb-address off")
	}
	node := lb.NewNode(lb.NodeConfig{Address: "127.0.0.1", PollWait: 2 * time.Second, Source: &lb.Remote{Endpoint: srv.URL(),
		Credentials: ecstest.TestCredentials}})
	nctx, ncancel := context.WithCancel(context.Background())
	ndone := make(chan struct{})
	go func() { _ = node.Run(nctx); close(ndone) }()
	t.Cleanup(func() { ncancel(); <-ndone })
	lbWait(t, 10*time.Second, "the remote node serving", func() bool {
		code, body, err := lbGet(url)
		return err == nil && code == 200 && body == "only"
	})
	// A change reaches the node through its long poll.
	lbOut, err := c.DescribeLoadBalancers(context.Background(), &elb.DescribeLoadBalancersInput{Names: []string{"remote"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLoadBalancer(context.Background(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	lbWait(t, 10*time.Second, "the remote node closing the deleted listener", func() bool {
		_, _, err := lbGet(url)
		return err != nil
	})
}

// The aws CLI creates and describes load balancing resources.
func TestAWSCLIELBv2(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is not on PATH; CI must install it (apt-get install awscli)")
		}
		t.Skip("the aws CLI is not on PATH")
	}
	s := ecstest.Start(t)
	home := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"elbv2"}, append(args, "--endpoint-url", s.URL(), "--output", "json")...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
			"AWS_ACCESS_KEY_ID=" + ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY=" + ecstest.TestSecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1"}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws elbv2 %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		m := map[string]any{}
		if out.Len() > 0 {
			if err := json.Unmarshal(out.Bytes(), &m); err != nil {
				t.Fatalf("aws elbv2 %s printed %q: %v", args[0], out.String(), err)
			}
		}
		return m
	}
	first := func(m map[string]any, list, member string) string {
		t.Helper()
		items, _ := m[list].([]any)
		if len(items) == 0 {
			t.Fatalf("no %s in %v", list, m)
		}
		v, _ := items[0].(map[string]any)[member].(string)
		return v
	}
	lbArn := first(run("create-load-balancer", "--name", "cli-lb", "--subnets", "subnet-1", "subnet-2"), "LoadBalancers", "LoadBalancerArn")
	tgArn := first(run("create-target-group", "--name", "cli-tg", "--protocol", "HTTP", "--port", "80", "--target-type", "ip",
		"--health-check-path", "/", "--health-check-interval-seconds", "5", "--matcher", "HttpCode=200-299"), "TargetGroups", "TargetGroupArn")
	port := lbFreePort(t)
	listener := run("create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", strconv.Itoa(int(port)),
		"--default-actions", "Type=forward,TargetGroupArn="+tgArn)
	lArn := first(listener, "Listeners", "ListenerArn")
	run("create-rule", "--listener-arn", lArn, "--priority", "10", "--conditions", `[{"Field":"path-pattern","PathPatternConfig":{"Values":["/api/*"]}}]`,
		"--actions", "Type=fixed-response,FixedResponseConfig={StatusCode=200,ContentType=text/plain,MessageBody=api}")
	backend := lbBackend(t, "cli-backend")
	run("register-targets", "--target-group-arn", tgArn, "--targets", "Id=127.0.0.1,Port="+strconv.Itoa(int(backend)))
	run("modify-target-group-attributes", "--target-group-arn", tgArn, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=10")

	lbs := run("describe-load-balancers", "--names", "cli-lb")
	if first(lbs, "LoadBalancers", "LoadBalancerArn") != lbArn || first(lbs, "LoadBalancers", "DNSName") != "localhost" {
		t.Errorf("describe-load-balancers = %v", lbs)
	}
	if got := first(lbs, "LoadBalancers", "Type"); got != "application" {
		t.Errorf("Type = %q; want application", got)
	}
	tgs := run("describe-target-groups", "--load-balancer-arn", lbArn)
	if first(tgs, "TargetGroups", "TargetGroupName") != "cli-tg" {
		t.Errorf("describe-target-groups = %v", tgs)
	}
	rules := run("describe-rules", "--listener-arn", lArn)
	if items, _ := rules["Rules"].([]any); len(items) != 2 {
		t.Errorf("describe-rules = %v; want the rule and the default", rules)
	}
	lbWait(t, 10*time.Second, "the target healthy", func() bool {
		h := run("describe-target-health", "--target-group-arn", tgArn)
		items, _ := h["TargetHealthDescriptions"].([]any)
		if len(items) != 1 {
			return false
		}
		return items[0].(map[string]any)["TargetHealth"].(map[string]any)["State"] == "healthy"
	})
	base := "http://127.0.0.1:" + strconv.Itoa(int(port))
	lbWait(t, 5*time.Second, "the listener serving both rules", func() bool {
		_, a, err1 := lbGet(base + "/api/x")
		_, b, err2 := lbGet(base + "/")
		return err1 == nil && err2 == nil && a == "api" && b == "cli-backend"
	})
	run("delete-load-balancer", "--load-balancer-arn", lbArn)
	if got := run("describe-target-groups"); len(got["TargetGroups"].([]any)) != 1 {
		t.Errorf("describe-target-groups after deleting the load balancer = %v", got)
	}
	run("delete-target-group", "--target-group-arn", tgArn)
	if got := run("describe-target-groups"); len(got["TargetGroups"].([]any)) != 0 {
		t.Errorf("describe-target-groups after delete-target-group = %v; want an empty list", got)
	}
}
