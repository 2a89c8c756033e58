package ecsapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func TestDescribeTasksFailures(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkCluster(t, s, "d")
	tkTD(t, s, "web", 128, 128)
	tkInstance(t, s, "c", 2048, 4096)
	arn := aws.ToString(tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}).Tasks[0].TaskArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	ghost := "0123456789abcdef0123456789abcdef"
	otherCluster := strings.Replace(arn, "task/c/", "task/d/", 1)
	out, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{arn, id, ghost, otherCluster, "bad id!"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].TaskArn) != arn || aws.ToString(out.Tasks[1].TaskArn) != arn {
		t.Errorf("DescribeTasks by ARN and ID: %+v", out.Tasks)
	}
	var fails []string
	for _, f := range out.Failures {
		fails = append(fails, aws.ToString(f.Reason)+" "+aws.ToString(f.Arn))
	}
	want := []string{"MISSING " + strings.Replace(arn, id, ghost, 1), "MISSING " + otherCluster, "MISSING bad id!"}
	if !slices.Equal(fails, want) {
		t.Errorf("failures = %q; want %q", fails, want)
	}
	_, err = s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{}})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: slices.Repeat([]string{id}, 101)})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("nope"), Tasks: []string{id}})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
}

func TestListTasksFiltersAndPagination(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 64, 64)
	tkTD(t, s, "batch", 64, 64)
	a := tkInstance(t, s, "c", 4096, 8192)
	aID := a[strings.LastIndexByte(a, '/')+1:]
	web := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(5)})
	batch := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("batch"), Count: aws.Int32(3), StartedBy: aws.String("nightly")})
	ext := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeExternal})
	svc := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Group: aws.String("service:api")})
	// ServiceNotFoundException is the answer until the service exists; services
	// are another resource group, so the document is written directly here.
	_, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), ServiceName: aws.String("api")})
	ecstest.WantCode(t, err, "ServiceNotFoundException")
	if _, err := s.Store().Commit(ctx, store.Txn{Ops: []store.Op{state.Put(state.ServiceKey("c", "api"), map[string]string{"serviceName": "api", "status": "ACTIVE"})}}); err != nil {
		t.Fatal(err)
	}
	stopArn := aws.ToString(web.Tasks[0].TaskArn)
	if _, err := s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(stopArn)}); err != nil {
		t.Fatal(err)
	}
	arns := func(outs ...*ecs.RunTaskOutput) []string {
		var r []string
		for _, o := range outs {
			for _, t := range o.Tasks {
				if a := aws.ToString(t.TaskArn); a != stopArn {
					r = append(r, a)
				}
			}
		}
		slices.Sort(r)
		return r
	}
	sorted := func(in []string) []string { slices.Sort(in); return in }
	for _, tt := range []struct {
		name string
		in   ecs.ListTasksInput
		want []string
	}{
		{"all running", ecs.ListTasksInput{}, arns(web, batch, ext, svc)},
		{"family", ecs.ListTasksInput{Family: aws.String("batch")}, arns(batch)},
		{"startedBy", ecs.ListTasksInput{StartedBy: aws.String("nightly")}, arns(batch)},
		{"service", ecs.ListTasksInput{ServiceName: aws.String("api")}, arns(svc)},
		{"instance by ID", ecs.ListTasksInput{ContainerInstance: aws.String(aID)}, arns(web, batch, ext, svc)},
		{"launch type", ecs.ListTasksInput{LaunchType: types.LaunchTypeExternal}, arns(ext)},
		{"stopped", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, []string{stopArn}},
		{"pending matches nothing", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusPending}, nil},
		{"family with no tasks", ecs.ListTasksInput{Family: aws.String("nothing")}, nil},
	} {
		tt.in.Cluster = aws.String("c")
		tt.in.MaxResults = aws.Int32(2)
		got := sorted(tkListAll(t, s, tt.in))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ListTasks = %d arns %v; want %d %v", tt.name, len(got), got, len(tt.want), tt.want)
		}
	}
	for _, tt := range []struct {
		name string
		in   ecs.ListTasksInput
		code string
	}{
		{"startedBy with family", ecs.ListTasksInput{StartedBy: aws.String("x"), Family: aws.String("web")}, "InvalidParameterException"},
		{"family with service", ecs.ListTasksInput{Family: aws.String("web"), ServiceName: aws.String("api")}, "InvalidParameterException"},
		{"maxResults 0", ecs.ListTasksInput{MaxResults: aws.Int32(0)}, "InvalidParameterException"},
		{"bad token", ecs.ListTasksInput{NextToken: aws.String("garbage!")}, "InvalidParameterException"},
		{"unknown cluster", ecs.ListTasksInput{Cluster: aws.String("nope")}, "ClusterNotFoundException"},
	} {
		if tt.in.Cluster == nil {
			tt.in.Cluster = aws.String("c")
		}
		_, err := s.Client.ListTasks(ctx, &tt.in)
		if ecstest.ErrorCode(err) != tt.code {
			t.Errorf("%s: ListTasks error = %v; want %s", tt.name, err, tt.code)
		}
	}
}

// TestRunTaskConcurrentNeverOvercommits races many RunTask callers against
// few instances: every task placed must fit what its instance registered.
func TestRunTaskConcurrentNeverOvercommits(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 256, 7000) // a static port too: at most one per instance
	tkTD(t, s, "small", 128, 256)
	const instances, cpu, mem = 3, 2048, 3768
	var insts []string
	for range instances {
		insts = append(insts, tkInstance(t, s, "c", cpu, mem))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			family := "small"
			if g%4 == 0 {
				family = "web"
			}
			out, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(family), Count: aws.Int32(10)})
			if err != nil {
				errs <- err
				return
			}
			for _, f := range out.Failures {
				switch r := aws.ToString(f.Reason); r {
				case "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS":
				default:
					errs <- fmt.Errorf("unexpected failure reason %s", r)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent RunTask: %v", err)
	}
	arns := tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c")})
	used := map[string][3]int32{} // instance → cpu, mem, web tasks
	for i := 0; i < len(arns); i += 100 {
		out, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: arns[i:min(i+100, len(arns))]})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range out.Tasks {
			u := used[aws.ToString(task.ContainerInstanceArn)]
			u[0] += 128
			u[1] += 256
			if strings.Contains(aws.ToString(task.TaskDefinitionArn), "/web:") {
				u[2]++
			}
			used[aws.ToString(task.ContainerInstanceArn)] = u
		}
	}
	// By memory each instance holds 14 tasks (3768/256): 42 in all.
	if len(arns) != instances*(mem/256) {
		t.Errorf("placed %d tasks; want %d (every instance filled, none overfilled)", len(arns), instances*(mem/256))
	}
	for _, inst := range insts {
		u := used[inst]
		if u[0] > cpu || u[1] > mem || u[2] > 1 {
			t.Errorf("instance %s overcommitted: %d CPU, %d MiB, %d tasks on port 7000", inst, u[0], u[1], u[2])
		}
		rc, rm, _ := tkRemaining(t, s, "c", inst)
		if rc < 0 || rm < 0 || rc != cpu-u[0] || rm != mem-u[1] {
			t.Errorf("instance %s remaining CPU %d MEMORY %d; want %d %d (registered less its tasks)", inst, rc, rm, cpu-u[0], mem-u[1])
		}
	}
}

func TestTasksSurviveRestart(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 256, 256)
	inst := tkInstance(t, s, "c", 2048, 4096)
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("t")})
	arn := aws.ToString(out.Tasks[0].TaskArn)
	s.Stop()
	s = ecstest.StartWith(t, ecstest.Options{DataDir: s.DataDir})
	if d := tkDescribe(t, s, "c", arn); aws.ToString(d.LastStatus) != "PENDING" || aws.ToString(d.ContainerInstanceArn) != inst {
		t.Errorf("after restart: %+v", d)
	}
	if got := tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c")}); len(got) != 2 {
		t.Errorf("after restart ListTasks = %v; want 2 tasks", got)
	}
	again := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("t")})
	if len(again.Tasks) != 2 || aws.ToString(again.Tasks[0].TaskArn) != arn {
		t.Errorf("after restart the client token started new tasks: %+v", again.Tasks)
	}
	if cpu, _, _ := tkRemaining(t, s, "c", inst); cpu != 2048-512 {
		t.Errorf("after restart remaining CPU %d; want %d", cpu, 2048-512)
	}
}
