package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/logsapi/awslogs"
	"github.com/wharf-ecs/wharf/internal/model"
)

func logsCmd() *cobra.Command {
	var af adminFlags
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [-f] TASK|SERVICE",
		Short: "Print (and follow) the output of a task's or a service's containers",
		Long: `Print the output of a task's containers, or of every task of a service, from
the log streams their awslogs log driver ships to Wharf's CloudWatch Logs API
(the task definition's logConfiguration names the group and stream prefix).
With -f, keep printing what they write, and for a service the output of the
tasks it starts later. Lines are prefixed with the container and task when
there is more than one stream.`,
		Example: `  wharf logs -f web --cluster prod
  wharf logs 0123456789abcdef0123456789abcdef --since 10m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ecsClient, logsClient, err := sdkClients(cmd.Context(), &af)
			if err != nil {
				return err
			}
			o.target, o.out = args[0], cmd.OutOrStdout()
			t := &logTail{ecs: ecsClient, logs: logsClient, o: o, defs: map[string]*types.TaskDefinition{}, tokens: map[string]*string{}}
			return t.run(cmd.Context())
		},
	}
	af.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.cluster, "cluster", "default", "cluster of the task or service")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing new output until interrupted")
	f.DurationVar(&o.since, "since", 0, "only output newer than this, e.g. 10m (default: all)")
	f.DurationVar(&o.poll, "poll", time.Second, "with -f, how often to ask for new output")
	return cmd
}

type logsOptions struct {
	target, cluster string
	follow          bool
	since, poll     time.Duration
	out             io.Writer
}

// sdkClients builds the ECS and CloudWatch Logs clients of the command's
// endpoint, signing with the caller's AWS credentials.
func sdkClients(ctx context.Context, f *adminFlags) (*ecs.Client, *cloudwatchlogs.Client, error) {
	hc, err := httpClient(f.caFile, time.Minute)
	if err != nil {
		return nil, nil, err
	}
	creds, err := awsCredentials(ctx, f.profile)
	if err != nil {
		return nil, nil, err
	}
	if creds == nil {
		return nil, nil, errors.New("no AWS credentials to sign with: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --profile (wharf up prints the lines that make a 'wharf' profile)")
	}
	e := ecs.New(ecs.Options{Region: f.region, BaseEndpoint: aws.String(f.endpoint), Credentials: creds, HTTPClient: hc})
	l := cloudwatchlogs.New(cloudwatchlogs.Options{Region: f.region, BaseEndpoint: aws.String(f.endpoint), Credentials: creds, HTTPClient: hc})
	return e, l, nil
}

// logTail prints the output of a task's or service's awslogs streams.
type logTail struct {
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
	o    logsOptions

	defs    map[string]*types.TaskDefinition // by ARN
	service bool
	tokens  map[string]*string // per stream: where the next read starts
}

// stream is one container's log stream.
type stream struct {
	group, name, label string
}

func (t *logTail) run(ctx context.Context) error {
	start := int64(0)
	if t.o.since > 0 {
		start = time.Now().Add(-t.o.since).UnixMilli()
	}
	for {
		streams, err := t.streams(ctx)
		if err != nil {
			return err
		}
		if len(streams) == 0 && !t.o.follow {
			return fmt.Errorf("%s has no container with the awslogs log driver: its output is only in the runtime's local log on its instance", t.o.target)
		}
		if err := t.print(ctx, streams, start); err != nil {
			return err
		}
		if !t.o.follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(t.o.poll):
		}
	}
}

// streams finds the task (or the service's tasks) and their awslogs streams.
func (t *logTail) streams(ctx context.Context) ([]stream, error) {
	tasks, err := t.tasks(ctx)
	if err != nil {
		return nil, err
	}
	var out []stream
	for _, task := range tasks {
		def, err := t.definition(ctx, aws.ToString(task.TaskDefinitionArn))
		if err != nil {
			return nil, err
		}
		taskID := awslogs.TaskID(aws.ToString(task.TaskArn))
		for i := range def.ContainerDefinitions {
			cd := &def.ContainerDefinitions[i]
			cfg, ok, err := awslogs.Of(toModel(cd))
			if !ok || err != nil {
				continue
			}
			name := cfg.StreamName(aws.ToString(cd.Name), taskID, runtimeID(task, aws.ToString(cd.Name)))
			if name == "" {
				continue // without a prefix the stream is the container's ID, not known yet
			}
			out = append(out, stream{group: cfg.Group, name: name, label: aws.ToString(cd.Name) + " " + taskID[:min(8, len(taskID))]})
		}
	}
	return out, nil
}

// tasks resolves the target: a task ID or ARN, else a service's tasks.
func (t *logTail) tasks(ctx context.Context) ([]types.Task, error) {
	cluster := aws.String(t.o.cluster)
	if !t.service {
		out, err := t.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: cluster, Tasks: []string{t.o.target}})
		if err == nil && len(out.Tasks) == 1 {
			return out.Tasks, nil
		}
		if err != nil && !strings.Contains(err.Error(), "InvalidParameterException") {
			return nil, fmt.Errorf("describe task %s: %w", t.o.target, err)
		}
		svc, err := t.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: cluster, Services: []string{t.o.target}})
		if err != nil {
			return nil, fmt.Errorf("describe service %s: %w", t.o.target, err)
		}
		if len(svc.Services) != 1 {
			return nil, fmt.Errorf("%s is neither a task nor a service of cluster %s", t.o.target, t.o.cluster)
		}
		t.service = true
	}
	var arns []string
	for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(t.ecs, &ecs.ListTasksInput{Cluster: cluster, ServiceName: aws.String(t.o.target), DesiredStatus: status})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list the tasks of service %s: %w", t.o.target, err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	var tasks []types.Task
	for len(arns) > 0 {
		n := min(len(arns), 100)
		out, err := t.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: cluster, Tasks: arns[:n]})
		if err != nil {
			return nil, fmt.Errorf("describe the tasks of service %s: %w", t.o.target, err)
		}
		tasks = append(tasks, out.Tasks...)
		arns = arns[n:]
	}
	return tasks, nil
}

func (t *logTail) definition(ctx context.Context, arn string) (*types.TaskDefinition, error) {
	if d := t.defs[arn]; d != nil {
		return d, nil
	}
	out, err := t.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	t.defs[arn] = out.TaskDefinition
	return out.TaskDefinition, nil
}

func runtimeID(task types.Task, container string) string {
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.RuntimeId)
		}
	}
	return ""
}

// toModel takes the members awslogs reads from the SDK's shape.
func toModel(cd *types.ContainerDefinition) *model.ContainerDefinition {
	m := &model.ContainerDefinition{Name: aws.ToString(cd.Name)}
	if lc := cd.LogConfiguration; lc != nil {
		m.LogConfiguration = &model.LogConfiguration{LogDriver: model.LogDriver(lc.LogDriver), Options: lc.Options}
	}
	return m
}

// print prints what the streams wrote since the last call, merged in time
// order. Each stream is read forward from where the last call ended, with
// GetLogEvents' tokens, so that nothing is printed twice or skipped, however
// late a batch of one stream arrives.
func (t *logTail) print(ctx context.Context, streams []stream, start int64) error {
	type line struct {
		ts         int64
		label, msg string
	}
	var lines []line
	labelled := len(streams) > 1 || t.service
	for _, s := range streams {
		key := s.group + "\x00" + s.name
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(s.group), LogStreamName: aws.String(s.name),
			StartFromHead: aws.Bool(true), NextToken: t.tokens[key]}
		if in.NextToken == nil && start > 0 {
			in.StartTime = aws.Int64(start)
		}
		for {
			out, err := t.logs.GetLogEvents(ctx, in)
			var nf *cwtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				break // not written yet: the agent makes it as the container starts
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("read log stream %s of group %s: %w", s.name, s.group, err)
			}
			for _, e := range out.Events {
				lines = append(lines, line{aws.ToInt64(e.Timestamp), s.label, strings.TrimRight(aws.ToString(e.Message), "\n")})
			}
			t.tokens[key] = out.NextForwardToken
			if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
				break
			}
			in.NextToken = out.NextForwardToken
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].ts < lines[j].ts })
	for _, l := range lines {
		if labelled {
			fmt.Fprintf(t.o.out, "%s | %s\n", l.label, l.msg)
		} else {
			fmt.Fprintln(t.o.out, l.msg)
		}
	}
	return nil
}
