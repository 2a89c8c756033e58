package elbapi_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/wharf-ecs/wharf/internal/lb"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// health answers the targets' states by ID:port.
func (e *env) health(t *testing.T, tgArn *string) map[string]types.TargetHealth {
	t.Helper()
	out, err := e.client.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tgArn})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	m := map[string]types.TargetHealth{}
	for _, d := range out.TargetHealthDescriptions {
		m[aws.ToString(d.Target.Id)+":"+strconv.Itoa(int(aws.ToInt32(d.Target.Port)))] = *d.TargetHealth
	}
	return m
}

// backend is an HTTP target whose health endpoint can be made to fail.
func backend(t *testing.T) (port int32, fail *atomic.Bool) {
	t.Helper()
	fail = new(atomic.Bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && fail.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return int32(srv.Listener.Addr().(*net.TCPAddr).Port), fail
}

func TestTargetRegistrationAndHealth(t *testing.T) {
	e := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go lb.NewChecker(e.api, e.api, nil).Run(ctx)

	tg := e.createTG(t, "web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arn := tg.TargetGroupArn
	if _, err := e.client.ModifyTargetGroup(e.ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: arn, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	good, _ := backend(t)
	sick, fail := backend(t)
	fail.Store(true)
	_, err := e.client.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{
		{Id: aws.String("127.0.0.1"), Port: aws.Int32(good)},
		{Id: aws.String("127.0.0.1"), Port: aws.Int32(sick)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	goodKey, sickKey := "127.0.0.1:"+strconv.Itoa(int(good)), "127.0.0.1:"+strconv.Itoa(int(sick))
	// Not used by a listener: unused, and not checked.
	h := e.health(t, arn)
	if h[goodKey].State != types.TargetHealthStateEnumUnused || h[goodKey].Reason != types.TargetHealthReasonEnumNotInUse {
		t.Fatalf("health before any listener = %+v; want unused, Target.NotInUse", h[goodKey])
	}
	front := e.createALB(t, "front")
	e.createListener(t, aws.ToString(front.LoadBalancerArn), types.ProtocolEnumHttp, freePort(t), aws.ToString(arn))
	// One passing check makes a new target healthy; failing ones make it
	// unhealthy after the threshold (2 checks, 5s apart).
	waitFor(t, 5*time.Second, "the good target healthy", func() bool {
		return e.health(t, arn)[goodKey].State == types.TargetHealthStateEnumHealthy
	})
	if st := e.health(t, arn)[sickKey]; st.State != types.TargetHealthStateEnumInitial || st.Reason != types.TargetHealthReasonEnumInitialHealthChecking {
		t.Errorf("sick target after one check = %+v; want initial, Elb.InitialHealthChecking", st)
	}
	waitFor(t, 15*time.Second, "the sick target unhealthy", func() bool {
		return e.health(t, arn)[sickKey].State == types.TargetHealthStateEnumUnhealthy
	})
	if st := e.health(t, arn)[sickKey]; st.Reason != types.TargetHealthReasonEnumResponseCodeMismatch || aws.ToString(st.Description) != "Health checks failed with these codes: [503]" {
		t.Errorf("unhealthy target = %+v; want Target.ResponseCodeMismatch with the code", st)
	}
	// It recovers after HealthyThresholdCount passes.
	fail.Store(false)
	waitFor(t, 15*time.Second, "the sick target healthy again", func() bool {
		return e.health(t, arn)[sickKey].State == types.TargetHealthStateEnumHealthy
	})

	// Asking about a target not registered.
	out, err := e.client.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{{Id: aws.String("10.9.9.9"), Port: aws.Int32(1)}}})
	if err != nil || len(out.TargetHealthDescriptions) != 1 || out.TargetHealthDescriptions[0].TargetHealth.Reason != types.TargetHealthReasonEnumNotRegistered {
		t.Fatalf("DescribeTargetHealth of an unregistered target = %+v, %v", out, err)
	}

	// Deregistering drains for the deregistration delay, then the target
	// is gone.
	if _, err := e.client.ModifyTargetGroupAttributes(e.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: arn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterTargets(e.ctx, &elb.DeregisterTargetsInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(good)}}}); err != nil {
		t.Fatal(err)
	}
	if st := e.health(t, arn)[goodKey]; st.State != types.TargetHealthStateEnumDraining || st.Reason != types.TargetHealthReasonEnumDeregistrationInProgress {
		t.Errorf("deregistered target = %+v; want draining", st)
	}
	waitFor(t, 5*time.Second, "the drained target removed", func() bool {
		_, ok := e.health(t, arn)[goodKey]
		return !ok
	})
	// Deregistering a target that is not registered succeeds.
	if _, err := e.client.DeregisterTargets(e.ctx, &elb.DeregisterTargetsInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(good)}}}); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterTargetsValidates(t *testing.T) {
	e := start(t)
	ipTG := e.createTG(t, "ips", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	instTG := e.createTG(t, "instances", types.ProtocolEnumHttp, types.TargetTypeEnumInstance)
	_, err := e.client.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: ipTG.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("not-an-ip")}}})
	wantCode(t, err, "InvalidTarget", "not-an-ip")
	_, err = e.client.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: instTG.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-0123456789abcdef0")}}})
	wantCode(t, err, "InvalidTarget", "i-0123456789abcdef0")
	_, err = e.client.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(aws.ToString(ipTG.TargetGroupArn) + "0"),
		Targets: []types.TargetDescription{{Id: aws.String("10.0.0.1")}}})
	wantCode(t, err, "TargetGroupNotFound")

	// An instance target is a container instance's ec2InstanceId, reached
	// at its wharf.host-address attribute.
	inst := &state.ContainerInstance{Cluster: "default", ID: "abc", ContainerInstance: model.ContainerInstance{
		Ec2InstanceId: "i-0aaaabbbbccccdddd", Status: "ACTIVE",
		Attributes: []model.Attribute{{Name: "wharf.host-address", Value: "10.1.2.3"}}}}
	if _, err := e.st.Commit(e.ctx, store.Txn{Ops: []store.Op{state.Put(state.InstanceKey("default", "abc"), inst)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: instTG.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-0aaaabbbbccccdddd"), Port: aws.Int32(32768)}, {Id: aws.String("i-0aaaabbbbccccdddd")}}}); err != nil {
		t.Fatal(err)
	}
	h := e.health(t, instTG.TargetGroupArn)
	if len(h) != 2 || h["i-0aaaabbbbccccdddd:80"].State != types.TargetHealthStateEnumUnused {
		t.Fatalf("instance targets = %+v; want two, on ports 32768 and the group's 80", h)
	}
	_, tgID, _ := state.ParseTargetGroupArn(aws.ToString(instTG.TargetGroupArn))
	rec, _, err := state.Get[state.Target](e.ctx, e.st, state.TargetKey(tgID, "i-0aaaabbbbccccdddd", 32768))
	if err != nil || rec.Address != "10.1.2.3" {
		t.Fatalf("stored target = %+v, %v; want address 10.1.2.3", rec, err)
	}
	// Deleting the group removes its registrations.
	if _, err := e.client.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: instTG.TargetGroupArn}); err != nil {
		t.Fatal(err)
	}
	kvs, _, err := e.st.List(e.ctx, state.TargetGroupTargetsPrefix(tgID), store.ListOptions{})
	if err != nil || len(kvs) != 0 {
		t.Fatalf("registrations after DeleteTargetGroup = %d, %v; want none", len(kvs), err)
	}
}

func TestTags(t *testing.T) {
	e := start(t)
	lb := e.createALB(t, "front")
	tg := e.createTG(t, "web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arns := []string{aws.ToString(lb.LoadBalancerArn), aws.ToString(tg.TargetGroupArn)}
	if _, err := e.client.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: arns,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RemoveTags(e.ctx, &elb.RemoveTagsInput{ResourceArns: arns[:1], TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeTags(e.ctx, &elb.DescribeTagsInput{ResourceArns: arns})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TagDescriptions) != 2 || len(out.TagDescriptions[0].Tags) != 1 || len(out.TagDescriptions[1].Tags) != 2 ||
		aws.ToString(out.TagDescriptions[0].Tags[0].Key) != "env" {
		t.Fatalf("DescribeTags = %+v; want env on the load balancer, env and team on the target group", out.TagDescriptions)
	}
	_, err = e.client.DescribeTags(e.ctx, &elb.DescribeTagsInput{ResourceArns: []string{arns[0] + "x"}})
	wantCode(t, err, "LoadBalancerNotFound")
}
