package logsapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/logsapi"
	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

// clock is a settable clock shared by the API and its store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is the logs API on a real log store behind an HTTP server, driven by
// the official CloudWatch Logs client.
type env struct {
	st     *logstore.Store
	client *cloudwatchlogs.Client
	url    string
	clock  *clock
}

type envOptions struct {
	limit int64
}

func start(t testing.TB) *env { return startWith(t, envOptions{}) }

func startWith(t testing.TB, o envOptions) *env {
	t.Helper()
	clk := &clock{now: time.Now().Truncate(time.Millisecond)}
	st, err := logstore.Open(filepath.Join(t.TempDir(), "logs", "logs.db"), logstore.Options{Limit: o.limit, Now: clk.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	api := logsapi.New(logsapi.Config{Logs: st, Region: region, AccountID: account, Now: clk.Now})
	mux := awsproto.NewMux(nil)
	mux.Add(api.Service())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{st: st, url: srv.URL, clock: clk, client: cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDWHARFTEST", "wharf-test-secret", ""),
		RetryMaxAttempts: 1,
	})}
}

// wantCode fails unless err is an API error with the code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := ecstest.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q); want %s", what, err, got, code)
	}
}

func (e *env) group(t *testing.T, name string) {
	t.Helper()
	if _, err := e.client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatalf("CreateLogGroup %s: %v", name, err)
	}
}

func (e *env) stream(t *testing.T, group, name string) {
	t.Helper()
	if _, err := e.client.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(name)}); err != nil {
		t.Fatalf("CreateLogStream %s %s: %v", group, name, err)
	}
}

// put appends messages to a stream, each at ts (ms) plus its index.
func (e *env) put(t *testing.T, group, stream string, ts int64, msgs ...string) *cloudwatchlogs.PutLogEventsOutput {
	t.Helper()
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Timestamp: aws.Int64(ts + int64(i)), Message: aws.String(m)}
	}
	out, err := e.client.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs})
	if err != nil {
		t.Fatalf("PutLogEvents %s %s: %v", group, stream, err)
	}
	return out
}

func (e *env) nowMillis() int64 { return e.clock.Now().UnixMilli() }

func messages[T any](evs []T, msg func(T) *string) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = aws.ToString(msg(e))
	}
	return out
}

func outMessages(evs []types.OutputLogEvent) []string {
	return messages(evs, func(e types.OutputLogEvent) *string { return e.Message })
}

func filteredMessages(evs []types.FilteredLogEvent) []string {
	return messages(evs, func(e types.FilteredLogEvent) *string { return e.Message })
}

func lines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", prefix, i)
	}
	return out
}

func same(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n") && len(a) == len(b)
}

// raw posts body to an operation and returns the status, the error type
// ("" on success) and the answer.
func (e *env) raw(t testing.TB, op, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", logsapi.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b
}
