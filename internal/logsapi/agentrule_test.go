package logsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
)

func logsClient(url string, creds aws.CredentialsProvider) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 1})
}

// joinAgent joins an instance to cluster with a fresh join token and
// returns a logs client signing with the instance's own credential.
func joinAgent(t *testing.T, s *ecstest.Server, cluster string) (*cloudwatchlogs.Client, string) {
	t.Helper()
	ctx := context.Background()
	root := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, region)
	var tok agentproto.CreateJoinTokenResponse
	if err := root.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.CreateJoinToken, agentproto.CreateJoinTokenRequest{Cluster: cluster}, &tok); err != nil {
		t.Fatal(err)
	}
	reg := model.RegisterContainerInstanceRequest{Cluster: cluster,
		TotalResources: []model.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: model.Ptr[int32](1024)},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: model.Ptr[int32](1024)},
		}}
	for _, a := range ecstest.AgentAttributes() {
		reg.Attributes = append(reg.Attributes, model.Attribute{Name: aws.ToString(a.Name)})
	}
	var out agentproto.JoinClusterResponse
	if err := agent.NewAPIClient(s.URL(), nil, nil, region).Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.JoinCluster,
		agentproto.JoinClusterRequest{JoinToken: tok.Token, Registration: reg}, &out); err != nil {
		t.Fatal(err)
	}
	return logsClient(s.URL(), credentials.NewStaticCredentialsProvider(out.AccessKeyID, out.SecretAccessKey, "")), out.ContainerInstance.ContainerInstanceArn
}

// TestAgentCredentialScope: through the whole server (signatures, the
// request gate), an agent's own credential may create the log group and
// streams of its tasks' awslogs containers and put their output, and
// nothing more.
func TestAgentCredentialScope(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	mine, instance := joinAgent(t, s, "c")
	other, _ := joinAgent(t, s, "c")
	awslogsDef := func(family string, opts map[string]string) {
		t.Helper()
		_, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64),
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	awslogsDef("web", map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true", "awslogs-region": region})
	run, err := s.Client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), ContainerInstances: []string{instance}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("StartTask: %+v %v", run, err)
	}
	taskID := aws.ToString(run.Tasks[0].TaskArn)[strings.LastIndexByte(aws.ToString(run.Tasks[0].TaskArn), '/')+1:]
	stream := "ecs/app/" + taskID

	put := func(c *cloudwatchlogs.Client, group, stream string) error {
		_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			LogEvents: []cwtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("hello")}}})
		return err
	}
	// The agent of the task's instance: its group, its stream, its output.
	if _, err := mine.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/web")}); err != nil {
		t.Fatalf("agent CreateLogGroup of its task's group (awslogs-create-group): %v", err)
	}
	if _, err := mine.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatalf("agent CreateLogStream of its task: %v", err)
	}
	_, err = mine.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String(stream),
		LogEvents: []cwtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("hello")}}})
	if err != nil {
		t.Fatalf("agent PutLogEvents for its task: %v", err)
	}
	// Anything else is refused.
	denied := func(what string, err error) {
		t.Helper()
		if ecstest.ErrorCode(err) != "AccessDeniedException" {
			t.Errorf("%s: err = %v; want AccessDeniedException", what, err)
		}
	}
	denied("another instance's agent writing the task's stream", put(other, "/ecs/web", stream))
	denied("a stream of a task that does not exist", put(mine, "/ecs/web", "ecs/app/0123456789abcdef0123456789abcdef"))
	denied("another container's stream", put(mine, "/ecs/web", "ecs/db/"+taskID))
	denied("another group", put(mine, "/ecs/other", stream))
	_, err = other.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	denied("CreateLogGroup by an instance without the task", err)
	_, err = mine.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/else")})
	denied("CreateLogGroup of a group no task names", err)
	_, err = mine.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	denied("DescribeLogGroups", err)
	if _, err := mine.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String(stream)}); err != nil {
		t.Errorf("agent GetLogEvents of its task's stream: %v", err)
	}
	_, err = other.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String(stream)})
	denied("GetLogEvents of another instance's task", err)
	_, err = mine.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/web")})
	denied("FilterLogEvents", err)
	_, err = mine.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	denied("DeleteLogGroup", err)

	// Without awslogs-create-group, the agent may not create the group.
	awslogsDef("api", map[string]string{"awslogs-group": "/ecs/api", "awslogs-stream-prefix": "ecs", "awslogs-region": region})
	if _, err := s.Client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("api"), ContainerInstances: []string{instance}}); err != nil {
		t.Fatal(err)
	}
	_, err = mine.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/api")})
	denied("CreateLogGroup without awslogs-create-group", err)

	// The root user reads what the agent wrote, signed for "logs".
	root := logsClient(s.URL(), ecstest.TestCredentials)
	out, err := root.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String(stream)})
	if err != nil || !same(outMessages(out.Events), []string{"hello"}) {
		t.Fatalf("root GetLogEvents: %+v %v", out, err)
	}
}
