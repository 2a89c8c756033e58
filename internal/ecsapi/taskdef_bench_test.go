package ecsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// BenchmarkRegisterTaskDefinition measures registrations per second through
// the SDK against a real server whose store fsyncs every commit batch. Each
// goroutine registers revisions of its own family, as deploy pipelines do;
// registrations of one family serialise on its revision counter.
//
//	go test ./internal/ecsapi/ -run '^$' -bench BenchmarkRegisterTaskDefinition -benchtime 5s
func BenchmarkRegisterTaskDefinition(b *testing.B) {
	s := ecstest.Start(b)
	// The SDK keeps 10 idle connections per host; with more goroutines than
	// that, connections would be closed and dialled again on every round and
	// the benchmark would measure TCP setup rather than registrations.
	client := ecs.New(s.Client.Options(), func(o *ecs.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = 64
		})
	})
	var families atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		in := tdBenchInput(fmt.Sprintf("bench-%d", families.Add(1)))
		for pb.Next() {
			if _, err := client.RegisterTaskDefinition(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}

// BenchmarkRegisterTaskDefinitionHTTP is the same load from a plain HTTP
// client sending the same JSON body the SDK sends, so that the 2 cores go to
// the server rather than to the SDK's middleware and signing: it measures what
// the server sustains.
//
//	go test ./internal/ecsapi/ -run '^$' -bench BenchmarkRegisterTaskDefinitionHTTP -benchtime 5s
func BenchmarkRegisterTaskDefinitionHTTP(b *testing.B) {
	s := ecstest.Start(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var families atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := tdBenchBody(b, fmt.Sprintf("bench-%d", families.Add(1)))
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/", bytes.NewReader(body))
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition")
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			ecstest.Sign(b, req, body)
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("RegisterTaskDefinition: %s", resp.Status)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}

// tdBenchBody is tdBenchInput as the JSON the wire carries.
func tdBenchBody(b *testing.B, family string) []byte {
	body, err := json.Marshal(map[string]any{
		"family": family, "networkMode": "bridge",
		"containerDefinitions": []map[string]any{
			{
				"name": "app", "image": "wharf-testapp:latest", "cpu": 256, "memory": 256, "memoryReservation": 128,
				"portMappings":     []map[string]any{{"containerPort": 8080}},
				"environment":      []map[string]string{{"name": "MODE", "value": "serve"}, {"name": "LOG_LEVEL", "value": "info"}},
				"healthCheck":      map[string]any{"command": []string{"CMD", "/testapp", "health"}},
				"logConfiguration": map[string]any{"logDriver": "json-file", "options": map[string]string{"max-size": "10m"}},
				"dependsOn":        []map[string]string{{"containerName": "logs", "condition": "START"}},
			},
			{"name": "logs", "image": "busybox:latest", "memory": 32, "essential": false, "command": []string{"sleep", "infinity"}},
		},
		"tags": []map[string]string{{"key": "service", "value": family}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// tdBenchInput is a typical service: an app container with a port, health
// check and logs, and a log-router sidecar.
func tdBenchInput(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String(family),
		NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Cpu: 256, Memory: aws.Int32(256), MemoryReservation: aws.Int32(128),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
				Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("serve")}, {Name: aws.String("LOG_LEVEL"), Value: aws.String("info")}},
				HealthCheck:  &types.HealthCheck{Command: []string{"CMD", "/testapp", "health"}},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverJsonFile,
					Options: map[string]string{"max-size": "10m"}},
				DependsOn: []types.ContainerDependency{{ContainerName: aws.String("logs"), Condition: types.ContainerConditionStart}},
			},
			{Name: aws.String("logs"), Image: aws.String("busybox:latest"), Memory: aws.Int32(32), Essential: aws.Bool(false), Command: []string{"sleep", "infinity"}},
		},
		Tags: []types.Tag{{Key: aws.String("service"), Value: aws.String(family)}},
	}
}
