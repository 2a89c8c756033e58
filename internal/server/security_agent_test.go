package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// secJoined is an agent that joined with a token: its instance and the
// clients signing with its credential.
type secJoined struct {
	arn string
	api *agent.APIClient // Wharf's agent client
	ecs *ecs.Client      // the SDK, as someone holding the stolen key would
	ssm *ssm.Client
}

func secRegistration(cluster string) model.RegisterContainerInstanceRequest {
	reg := model.RegisterContainerInstanceRequest{
		Cluster: cluster,
		TotalResources: []model.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: model.Ptr[int32](1024)},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: model.Ptr[int32](1024)},
		},
		VersionInfo: &model.VersionInfo{AgentVersion: "1.0.0", DockerVersion: "24.0.7"},
	}
	for _, a := range ecstest.AgentAttributes() {
		reg.Attributes = append(reg.Attributes, model.Attribute{Name: aws.ToString(a.Name)})
	}
	return reg
}

func secJoin(t *testing.T, s *ecstest.Server, token string, reg model.RegisterContainerInstanceRequest) (secJoined, error) {
	t.Helper()
	var out agentproto.JoinClusterResponse
	err := agent.NewAPIClient(s.URL(), nil, nil, secRegion).Call(context.Background(), agentproto.AdminTargetPrefix+"."+agentproto.JoinCluster,
		agentproto.JoinClusterRequest{JoinToken: token, Registration: reg}, &out)
	if err != nil {
		return secJoined{}, err
	}
	creds := credentials.NewStaticCredentialsProvider(out.AccessKeyID, out.SecretAccessKey, "")
	return secJoined{arn: out.ContainerInstance.ContainerInstanceArn,
		api: agent.NewAPIClient(s.URL(), nil, creds, secRegion),
		ecs: ecstest.NewClientAs(s.URL(), out.AccessKeyID, out.SecretAccessKey),
		ssm: ssm.New(ssm.Options{Region: secRegion, BaseEndpoint: aws.String(s.URL()), Credentials: creds, RetryMaxAttempts: 1})}, nil
}

// secWantCode fails unless err is an API error of either client with code
// and, if given, a message holding part.
func secWantCode(t *testing.T, what string, err error, code, part string) {
	t.Helper()
	got, msg := secDenial(err)
	if got != code || !strings.Contains(msg, part) {
		t.Errorf("%s: err = %v; want %s mentioning %q", what, err, code, part)
	}
}

func TestAgentCredentialsBoundToInstance(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	root := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, secRegion)
	admin := func(op string, in, out any) error {
		return root.Call(ctx, agentproto.AdminTargetPrefix+"."+op, in, out)
	}
	newToken := func(cluster string) agentproto.CreateJoinTokenResponse {
		t.Helper()
		var out agentproto.CreateJoinTokenResponse
		if err := admin(agentproto.CreateJoinToken, agentproto.CreateJoinTokenRequest{Cluster: cluster}, &out); err != nil {
			t.Fatalf("CreateJoinToken %s as root: %v", cluster, err)
		}
		return out
	}
	instances := func(cluster string) int {
		t.Helper()
		out, err := s.Client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
		if err != nil {
			t.Fatalf("ListContainerInstances %s as root: %v", cluster, err)
		}
		return len(out.ContainerInstanceArns)
	}
	describeTask := func(arn string) types.Task {
		t.Helper()
		out, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("x"), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks %s as root: %v %+v", arn, err, out)
		}
		return out.Tasks[0]
	}
	ecsOp := func(j secJoined, op string, in any) error {
		return j.api.Call(ctx, model.TargetPrefix+"."+op, in, nil)
	}
	poll := func(j secJoined, cluster, inst string) (agentproto.PollTasksResponse, error) {
		var out agentproto.PollTasksResponse
		err := j.api.Call(ctx, agentproto.TargetPrefix+"."+agentproto.PollTasks,
			agentproto.PollTasksRequest{Cluster: cluster, ContainerInstanceArn: inst, WaitSeconds: 1}, &out)
		return out, err
	}

	secCreateCluster(t, s, "x", "y")
	td, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("sec-agent"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true),
			Cpu: 128, Memory: aws.Int32(128)}}})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	tokX, tokY := newToken("x"), newToken("y")
	a, err := secJoin(t, s, tokX.Token, secRegistration("x"))
	if err != nil {
		t.Fatalf("JoinCluster A: %v", err)
	}
	b, err := secJoin(t, s, tokX.Token, secRegistration(""))
	if err != nil {
		t.Fatalf("JoinCluster B (cluster from the token): %v", err)
	}
	if !strings.Contains(b.arn, ":container-instance/x/") {
		t.Fatalf("B joined as %s; want an instance of cluster x, the token's", b.arn)
	}

	// Root runs one task on each instance.
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		Count: aws.Int32(2), PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	taskOn := map[string]string{}
	for _, tk := range run.Tasks {
		tk = describeTask(aws.ToString(tk.TaskArn))
		taskOn[aws.ToString(tk.ContainerInstanceArn)] = aws.ToString(tk.TaskArn)
	}
	taskA, taskB := taskOn[a.arn], taskOn[b.arn]
	if taskA == "" || taskB == "" {
		t.Fatalf("tasks by instance = %v; want one on A (%s) and one on B (%s)", taskOn, a.arn, b.arn)
	}

	// A acts for itself.
	got, err := poll(a, "x", a.arn)
	if err != nil || len(got.Tasks) != 1 || got.Tasks[0].Task.TaskArn != taskA {
		t.Fatalf("A polls for its own instance: %v %+v; want its one task %s", err, got.Tasks, taskA)
	}
	if err := ecsOp(a, "RegisterContainerInstance", func() model.RegisterContainerInstanceRequest {
		r := secRegistration("x")
		r.ContainerInstanceArn = a.arn
		return r
	}()); err != nil {
		t.Errorf("A registers its own instance again: %v", err)
	}
	running := agentproto.SubmitTaskStateChangeInput{SubmitTaskStateChangeRequest: model.SubmitTaskStateChangeRequest{
		Cluster: "x", Task: taskA, Status: "RUNNING"}}
	if err := ecsOp(a, "SubmitTaskStateChange", running); err != nil {
		t.Errorf("A reports its own task RUNNING: %v", err)
	} else if st := aws.ToString(describeTask(taskA).LastStatus); st != "RUNNING" {
		t.Errorf("A's task is %s after A reported RUNNING", st)
	}

	// A may not act for B.
	_, err = poll(a, "x", b.arn)
	secWantCode(t, "A polls for B's instance", err, auth.CodeAccessDenied, "act for container instance "+b.arn)
	_, err = poll(a, "y", a.arn)
	secWantCode(t, "A polls in cluster y", err, auth.CodeAccessDenied, "act in cluster y")
	// A body naming both instances (keys differing in case decode to the
	// same member) is judged as the operation reads it.
	for _, body := range []string{
		`{"cluster": "x", "containerInstanceArn": "` + a.arn + `", "ContainerInstanceARN": "` + b.arn + `", "waitSeconds": 1}`,
		`{"cluster": "x", "containerInstanceArn": "` + b.arn + `", "containerinstancearn": "` + a.arn + `", "waitSeconds": 1}`,
	} {
		var out agentproto.PollTasksResponse
		err := a.api.Call(ctx, agentproto.TargetPrefix+"."+agentproto.PollTasks, json.RawMessage(body), &out)
		if code, _ := secDenial(err); err != nil && code != auth.CodeAccessDenied {
			t.Errorf("A polls with %s: %v; want B refused or A's own tasks", body, err)
		}
		for _, tk := range out.Tasks {
			if tk.Task.TaskArn != taskA {
				t.Errorf("A polls with %s and is handed task %s of another instance", body, tk.Task.TaskArn)
			}
		}
	}
	takeover := secRegistration("x")
	takeover.ContainerInstanceArn = b.arn
	takeover.VersionInfo.AgentVersion = "6.6.6"
	secWantCode(t, "A registers B's instance", ecsOp(a, "RegisterContainerInstance", takeover), auth.CodeAccessDenied, b.arn)
	secWantCode(t, "A registers a new instance", ecsOp(a, "RegisterContainerInstance", secRegistration("x")), auth.CodeAccessDenied, "join token")
	running.Task = taskB
	secWantCode(t, "A reports B's task", ecsOp(a, "SubmitTaskStateChange", running), auth.CodeAccessDenied, "runs on another instance")
	secWantCode(t, "A reports a container of B's task", ecsOp(a, "SubmitContainerStateChange", model.SubmitContainerStateChangeRequest{
		Cluster: "x", Task: taskB, ContainerName: "app", Status: "RUNNING"}), auth.CodeAccessDenied, "runs on another instance")
	if st := aws.ToString(describeTask(taskB).LastStatus); st != "PENDING" {
		t.Errorf("B's task is %s after A's refused reports; want PENDING", st)
	}
	di, err := s.Client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("x"), ContainerInstances: []string{b.arn}})
	if err != nil || len(di.ContainerInstances) != 1 || aws.ToString(di.ContainerInstances[0].VersionInfo.AgentVersion) != "1.0.0" {
		t.Errorf("B's instance after A's refused registration: %v %+v; want agent version 1.0.0 unchanged", err, di)
	}

	// An agent credential is no user key.
	_, err = a.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
	secWantCode(t, "A's credential RunTask", err, auth.CodeAccessDenied, "agent credential")
	_, err = a.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	secWantCode(t, "A's credential ListClusters", err, auth.CodeAccessDenied, "agent credential")
	_, err = a.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("x"), Tasks: []string{taskA}})
	secWantCode(t, "A's credential DescribeTasks", err, auth.CodeAccessDenied, "agent credential")
	var tok agentproto.CreateJoinTokenResponse
	err = a.api.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.CreateJoinToken, agentproto.CreateJoinTokenRequest{Cluster: "x"}, &tok)
	secWantCode(t, "A's credential CreateJoinToken", err, auth.CodeAccessDenied, "agent credential")
	// Nor may it read the parameter store: its tasks' secrets come with
	// PollTasks.
	rootSSM := ssm.New(ssm.Options{Region: secRegion, BaseEndpoint: aws.String(s.URL()), Credentials: ecstest.TestCredentials, RetryMaxAttempts: 1})
	if _, err := rootSSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/x/db-password"), Value: aws.String("hunter2"),
		Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatalf("PutParameter as root: %v", err)
	}
	_, err = a.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x/db-password"), WithDecryption: aws.Bool(true)})
	secWantCode(t, "A's credential GetParameter", err, auth.CodeAccessDenied, "agent credential")
	tasks, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("x")})
	if err != nil || len(tasks.TaskArns) != 2 {
		t.Errorf("tasks in x after A's refused RunTask: %v %v; want the 2 root ran", err, tasks)
	}

	// Join tokens that do not check out register nothing.
	revoked, expired := newToken("x"), newToken("x")
	if err := admin(agentproto.DeleteJoinToken, agentproto.DeleteJoinTokenRequest{TokenID: revoked.JoinToken.TokenID}, nil); err != nil {
		t.Fatalf("DeleteJoinToken: %v", err)
	}
	secExpireToken(t, s, expired.JoinToken.TokenID)
	id, secret, _ := strings.Cut(strings.TrimPrefix(tokX.Token, "wharf-join-"), "-")
	for name, token := range map[string]string{
		"revoked":      revoked.Token,
		"expired":      expired.Token,
		"malformed":    "not-a-join-token",
		"unknown":      "wharf-join-0123456789abcdef-" + secret,
		"wrong secret": "wharf-join-" + id + "-" + strings.Repeat("0", len(secret)),
		"empty":        "",
	} {
		_, err := secJoin(t, s, token, secRegistration("x"))
		secWantCode(t, "JoinCluster with a "+name+" token", err, auth.CodeAccessDenied, "join token is not valid")
	}
	_, err = secJoin(t, s, tokX.Token, secRegistration("y"))
	secWantCode(t, "JoinCluster with x's token into y", err, auth.CodeAccessDenied, "registers instances in cluster x, not y")
	reuse := secRegistration("x")
	reuse.ContainerInstanceArn = a.arn
	_, err = secJoin(t, s, tokX.Token, reuse)
	secWantCode(t, "JoinCluster naming A's instance", err, "InvalidParameterException", "new container instance")
	if nx, ny := instances("x"), instances("y"); nx != 2 || ny != 0 {
		t.Errorf("instances after refused joins: x %d, y %d; want 2 and 0", nx, ny)
	}
	if _, err := secJoin(t, s, tokY.Token, secRegistration("y")); err != nil {
		t.Errorf("JoinCluster with y's own token: %v", err)
	}

	// Revoking the token leaves the instances that joined with it alone;
	// deregistering an instance kills its credential.
	if err := admin(agentproto.DeleteJoinToken, agentproto.DeleteJoinTokenRequest{TokenID: tokX.JoinToken.TokenID}, nil); err != nil {
		t.Fatalf("DeleteJoinToken: %v", err)
	}
	if _, err := poll(b, "x", b.arn); err != nil {
		t.Errorf("B polls after its token was revoked: %v", err)
	}
	if _, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("x"),
		ContainerInstance: aws.String(a.arn), Force: aws.Bool(true)}); err != nil {
		t.Fatalf("DeregisterContainerInstance A: %v", err)
	}
	_, err = poll(a, "x", a.arn)
	secWantCode(t, "A polls after deregistration", err, auth.CodeUnrecognizedClient, "")
	_, err = a.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	secWantCode(t, "A's credential after deregistration", err, auth.CodeUnrecognizedClient, "")
	if _, err := poll(b, "x", b.arn); err != nil {
		t.Errorf("B polls after A was deregistered: %v", err)
	}
}

// secExpireToken moves a join token's expiry into the past, as time would.
func secExpireToken(t *testing.T, s *ecstest.Server, id string) {
	t.Helper()
	ctx := context.Background()
	key := state.JoinTokenKey(id)
	tok, rev, err := state.Get[state.JoinToken](ctx, s.Store(), key)
	if err != nil {
		t.Fatalf("read join token %s: %v", id, err)
	}
	tok.ExpiresAt = model.NewTime(time.Now().Add(-time.Second))
	if _, err := s.Store().Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, tok)}}); err != nil {
		t.Fatalf("expire join token %s: %v", id, err)
	}
}
