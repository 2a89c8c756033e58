package ecsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// These tests speak the AWS JSON 1.1 protocol with net/http, as a client
// other than the Go SDK would, to pin down what goes on the wire.

const protocolTarget = "AmazonEC2ContainerServiceV20141113."

type protocolAnswer struct {
	status int
	header http.Header
	body   []byte
	code   string // body __type
	msg    string
}

func protocolCall(t *testing.T, s *ecstest.Server, method, target, body string) protocolAnswer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	// No keep-alive: a connection left open would hold up the server's
	// graceful shutdown at the end of the test.
	req.Close = true
	ecstest.Sign(t, req, []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := protocolAnswer{status: resp.StatusCode, header: resp.Header, body: b}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil {
		a.code, a.msg = e.Type, e.Message
	}
	return a
}

func protocolWantError(t *testing.T, a protocolAnswer, code string) {
	t.Helper()
	if a.status < 400 || a.status > 499 {
		t.Errorf("status = %d; want 4xx (body %s)", a.status, a.body)
	}
	if got := a.header.Get("X-Amzn-ErrorType"); got != code {
		t.Errorf("X-Amzn-ErrorType = %q; want %q", got, code)
	}
	if a.code != code || a.msg == "" {
		t.Errorf("body = %s; want __type %q and a message", a.body, code)
	}
	if a.header.Get("x-amzn-RequestId") == "" {
		t.Errorf("no x-amzn-RequestId header")
	}
}

func storeRevision(t *testing.T, s *ecstest.Server) int64 {
	t.Helper()
	rev, err := s.Store().Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestProtocolBadRequestsChangeNothing(t *testing.T) {
	s := ecstest.Start(t)
	before := storeRevision(t, s)
	cases := []struct {
		name, method, target, body, code string
	}{
		{"no target", "POST", "", `{}`, "UnknownOperationException"},
		{"unknown operation", "POST", protocolTarget + "LaunchRocket", `{}`, "UnknownOperationException"},
		{"other service", "POST", "DynamoDB_20120810.CreateCluster", `{}`, "UnknownOperationException"},
		{"GET /", "GET", "", ``, "MethodNotAllowedException"},
		{"not JSON", "POST", protocolTarget + "CreateCluster", `clusterName=web`, "SerializationException"},
		{"JSON array", "POST", protocolTarget + "CreateCluster", `[{"clusterName":"web"}]`, "SerializationException"},
		{"truncated JSON", "POST", protocolTarget + "CreateCluster", `{"clusterName":"web"`, "SerializationException"},
		{"number for string", "POST", protocolTarget + "CreateCluster", `{"clusterName":5}`, "SerializationException"},
		{"object for list", "POST", protocolTarget + "CreateCluster", `{"clusterName":"web","tags":{"k":"v"}}`, "SerializationException"},
		{"string for int", "POST", protocolTarget + "ListClusters", `{"maxResults":"5"}`, "SerializationException"},
		{"wrong nested type", "POST", protocolTarget + "TagResource", `{"resourceArn":"x","tags":[{"key":1}]}`, "SerializationException"},
		{"invalid member value", "POST", protocolTarget + "CreateCluster", `{"clusterName":"no spaces allowed"}`, "InvalidParameterException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			protocolWantError(t, protocolCall(t, s, tc.method, tc.target, tc.body), tc.code)
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		big := `{"clusterName":"big","tags":[{"key":"k","value":"` + strings.Repeat("v", 1<<20) + `"}]}`
		a := protocolCall(t, s, "POST", protocolTarget+"CreateCluster", big)
		if a.status < 400 || a.status > 499 {
			t.Errorf("body over 1 MiB: status %d; want 4xx", a.status)
		}
	})
	if after := storeRevision(t, s); after != before {
		t.Errorf("store revision moved from %d to %d: a rejected request changed state", before, after)
	}
}

func TestProtocolUnimplementedOperations(t *testing.T) {
	s := ecstest.Start(t)
	var missing []string
	for op := range model.Operations {
		if !s.API().Service().Implemented(op) {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	for _, op := range missing {
		a := protocolCall(t, s, "POST", protocolTarget+op, `{}`)
		protocolWantError(t, a, "UnsupportedFeatureException")
		if !strings.Contains(a.msg, op) {
			t.Errorf("%s: message %q does not name the operation", op, a.msg)
		}
	}
	// The operations this suite covers are implemented and answer normally.
	for _, op := range []string{"CreateCluster", "ListClusters", "TagResource", "ListAccountSettings"} {
		if !s.API().Service().Implemented(op) {
			t.Errorf("%s is not implemented", op)
		}
	}
}

func TestProtocolEmptyBodyIsEmptyObject(t *testing.T) {
	s := ecstest.Start(t)
	a := protocolCall(t, s, "POST", protocolTarget+"ListClusters", "")
	if a.status != 200 {
		t.Fatalf("ListClusters with no body: %d %s; want 200", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q; want application/x-amz-json-1.1", ct)
	}
	if a.header.Get("x-amzn-RequestId") == "" {
		t.Errorf("success has no x-amzn-RequestId")
	}
	// CreateCluster with no body is CreateCluster {}: the default cluster.
	a = protocolCall(t, s, "POST", protocolTarget+"CreateCluster", "")
	var out struct {
		Cluster struct {
			ClusterName string `json:"clusterName"`
			Status      string `json:"status"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil || a.status != 200 || out.Cluster.ClusterName != "default" {
		t.Errorf("CreateCluster with no body: %d %s; want the default cluster", a.status, a.body)
	}
}

func TestProtocolWireShapes(t *testing.T) {
	s := ecstest.Start(t)
	a := protocolCall(t, s, "POST", protocolTarget+"CreateCluster", `{"clusterName":"web","tags":[{"key":"k","value":"v"}]}`)
	if a.status != 200 {
		t.Fatalf("CreateCluster: %d %s", a.status, a.body)
	}
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Fatalf("CreateCluster answer %s: %v", a.body, err)
	}
	// Counts are JSON numbers, even when zero.
	for _, k := range []string{"registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount", "activeServicesCount"} {
		if got := string(raw["cluster"][k]); got != "0" {
			t.Errorf("cluster.%s = %q; want the number 0", k, got)
		}
	}
	// Describe with unknown include values is refused, and an unknown member
	// of the request is ignored as AWS services do.
	protocolWantError(t, protocolCall(t, s, "POST", protocolTarget+"DescribeClusters", `{"include":["ALL"]}`), "InvalidParameterException")
	if a := protocolCall(t, s, "POST", protocolTarget+"ListClusters", `{"someFutureMember":true}`); a.status != 200 {
		t.Errorf("unknown request member: %d %s; want 200", a.status, a.body)
	}
	// Two requests never share a request ID.
	id1 := protocolCall(t, s, "POST", protocolTarget+"ListClusters", `{}`).header.Get("x-amzn-RequestId")
	id2 := protocolCall(t, s, "POST", protocolTarget+"ListClusters", `{}`).header.Get("x-amzn-RequestId")
	if id1 == "" || id1 == id2 {
		t.Errorf("request IDs %q and %q; want two distinct IDs", id1, id2)
	}
	// Errors of the ECS shapes carry the same code in header and body.
	a = protocolCall(t, s, "POST", protocolTarget+"DeleteCluster", `{"cluster":"nope"}`)
	protocolWantError(t, a, "ClusterNotFoundException")
	if !bytes.Contains(a.body, []byte(`"message"`)) {
		t.Errorf("error body %s has no lower-case message member (botocore reads message)", a.body)
	}
}

// Timestamps go on the wire as epoch seconds in JSON numbers (the model has
// no timestampFormat override). The agent's poll returns a task and its task
// definition, both of which carry timestamps.
func TestProtocolTimestampsAreEpochNumbers(t *testing.T) {
	s := ecstest.Start(t)
	if a := protocolCall(t, s, "POST", protocolTarget+"CreateCluster", `{"clusterName":"web"}`); a.status != 200 {
		t.Fatalf("CreateCluster: %d %s", a.status, a.body)
	}
	const taskID, instID = "44444444444444444444444444444444", "55555555555555555555555555555555"
	tdARN := tagsARNPrefix + "task-definition/app:1"
	instARN := tagsARNPrefix + "container-instance/web/" + instID
	tagsSeed(t, s, map[string]any{
		state.TaskDefKey("app", 1): state.TaskDefinition{TaskDefinition: model.TaskDefinition{
			TaskDefinitionArn: tdARN, Family: "app", Revision: model.Ptr(int32(1)), Status: model.TaskDefinitionStatusActive,
			RegisteredAt: model.NewTime(time.Unix(1700000000, 250e6)),
		}},
		state.InstanceKey("web", instID): state.ContainerInstance{
			ContainerInstance: model.ContainerInstance{ContainerInstanceArn: instARN, Status: "ACTIVE"},
			Cluster:           "web", ID: instID,
		},
		state.TaskKey("web", taskID): state.Task{Task: model.Task{
			TaskArn: tagsARNPrefix + "task/web/" + taskID, ClusterArn: tagsARNPrefix + "cluster/web",
			TaskDefinitionArn: tdARN, ContainerInstanceArn: instARN, LastStatus: "PENDING", DesiredStatus: "RUNNING",
			CreatedAt: model.NewTime(time.Unix(1700000001, 500e6)),
		}, InstanceID: instID},
	})
	body := `{"cluster":"web","containerInstanceArn":"` + instARN + `","sinceRevision":0,"waitSeconds":1}`
	var out struct {
		Tasks []struct {
			Task           map[string]json.RawMessage `json:"task"`
			TaskDefinition map[string]json.RawMessage `json:"taskDefinition"`
		} `json:"tasks"`
	}
	// The poll answers from an index that follows the store; give it a moment
	// to see the seeded task.
	for i := 0; i < 20 && len(out.Tasks) == 0; i++ {
		a := protocolCall(t, s, "POST", agentproto.TargetPrefix+"."+agentproto.PollTasks, body)
		if a.status != 200 {
			t.Fatalf("PollTasks: %d %s", a.status, a.body)
		}
		if err := json.Unmarshal(a.body, &out); err != nil {
			t.Fatalf("PollTasks answer %s: %v", a.body, err)
		}
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("PollTasks returned %d tasks; want the seeded one", len(out.Tasks))
	}
	if got := string(out.Tasks[0].Task["createdAt"]); got != "1700000001.5" {
		t.Errorf("task createdAt on the wire = %s; want the number 1700000001.5", got)
	}
	if got := string(out.Tasks[0].TaskDefinition["registeredAt"]); got != "1700000000.25" {
		t.Errorf("task definition registeredAt on the wire = %s; want the number 1700000000.25", got)
	}
}
