package sdapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/miekg/dns"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/docker/dockertest"
	"github.com/wharf-ecs/wharf/internal/sdapi"
)

// TestDockerServiceReachableByName runs an ECS service of wharf-testapp on
// the real Docker Engine with a Cloud Map name, and follows the DNS SRV
// answer to the tasks: each answers HTTP at the address and port DNS gives,
// and a task that crashes leaves the answer for its replacement.
func TestDockerServiceReachableByName(t *testing.T) {
	rt := dockertest.Require(t, docker.Options{PullStallTimeout: 5 * time.Second}, "wharf-testapp:latest")
	ctx := context.Background()

	srv := ecstest.Start(t)
	e := &env{srv: srv, sd: newSD(srv.URL()), ctx: ctx}
	ag, err := agent.New(agent.Config{
		Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "default", DataDir: t.TempDir(),
		CPU: 2048, MemoryMiB: 2048, Runtime: rt, PollWait: 5 * time.Second, ResyncInterval: time.Second,
		// Docker publishes on every host address; the loopback one is
		// reachable from this test wherever it runs.
		Attributes: map[string]string{sdapi.HostIPAttribute: "127.0.0.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	t.Cleanup(func() {
		stop()
		<-done
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		states, _ := rt.List(cctx, map[string]string{"org.wharf-ecs.container-instance-arn": ag.InstanceArn()})
		for _, s := range states {
			_ = rt.Remove(cctx, s.ID)
		}
	})
	waitFor(t, 10*time.Second, "instance registered", func() bool { return ag.InstanceArn() != "" })

	dnsAddr := e.startDNS(t)
	nsID := e.privateNamespace(t, "docker.local")
	cm := e.dnsService(t, nsID, "web", "", true)
	if _, err := srv.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("wharf-testapp:latest"), Essential: aws.Bool(true), Memory: aws.Int32(64),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
			HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "/testapp", "-healthcheck", "http://127.0.0.1:8080/health"},
				Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(2), StartPeriod: aws.Int32(0)},
		}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(2), ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}}); err != nil {
		t.Fatal(err)
	}

	// get fetches the testapp's index through an SRV answer's target.
	get := func(ep endpoint) (string, error) {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://%s:%s/", ep.ip, ep.port))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	var eps []endpoint
	waitFor(t, 60*time.Second, "two tasks healthy in DNS", func() bool {
		eps = dnsEndpoints(t, dnsAddr, "web.docker.local")
		return len(eps) == 2
	})
	for _, ep := range eps {
		body, err := get(ep)
		if err != nil || !strings.Contains(body, "port: 8080") {
			t.Fatalf("GET %s:%s (task %s) = %q, %v; want the testapp", ep.ip, ep.port, ep.id, body, err)
		}
	}
	r := query(t, dnsAddr, "web.docker.local", dns.TypeA, "udp")
	if got := addrs(t, r.Answer, 10); len(got) != 2 || got[0] != "127.0.0.1" {
		t.Fatalf("A web.docker.local = %v; want the host address twice", got)
	}

	// Crash one task: it leaves the answer, and its replacement joins.
	crashed := eps[0]
	if resp, err := http.Get(fmt.Sprintf("http://%s:%s/exit/3", crashed.ip, crashed.port)); err == nil {
		resp.Body.Close()
	}
	waitFor(t, 60*time.Second, "the crashed task replaced in DNS", func() bool {
		now := dnsEndpoints(t, dnsAddr, "web.docker.local")
		if len(now) != 2 {
			return false
		}
		for _, ep := range now {
			if ep.id == crashed.id {
				return false
			}
			if _, err := get(ep); err != nil {
				return false
			}
		}
		return true
	})
}
