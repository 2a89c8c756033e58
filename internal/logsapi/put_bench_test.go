package logsapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/logsapi"
	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

// BenchmarkPutLogEvents measures the server's side of ingestion: batches
// of 5,000 events of 100 bytes (about 700 KB of JSON, as the agent sends
// them) posted by plain HTTP to the logs API on a log store with fsync on,
// from 4 goroutines (4 containers' followers).
//
//	go test -run '^$' -bench PutLogEvents -benchtime 200x ./internal/logsapi
func BenchmarkPutLogEvents(b *testing.B) {
	st, err := logstore.Open(filepath.Join(b.TempDir(), "logs.db"), logstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	api := logsapi.New(logsapi.Config{Logs: st, Region: region, AccountID: account})
	mux := awsproto.NewMux(nil)
	mux.Add(api.Service())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(op, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", logsapi.TargetPrefix+"."+op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%s: %v %v", op, err, resp.Status)
		}
		resp.Body.Close()
	}
	post("CreateLogGroup", `{"logGroupName":"g"}`)
	const events = 5000
	bodies := make([]string, 4)
	for s := range bodies {
		post("CreateLogStream", fmt.Sprintf(`{"logGroupName":"g","logStreamName":"s%d"}`, s))
		var buf bytes.Buffer
		fmt.Fprintf(&buf, `{"logGroupName":"g","logStreamName":"s%d","logEvents":[`, s)
		now := time.Now().UnixMilli()
		for i := range events {
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"timestamp":%d,"message":"line %06d %s"}`, now, i, strings.Repeat(".", 88))
		}
		buf.WriteString("]}")
		bodies[s] = buf.String()
	}
	b.SetParallelism(2) // 4 goroutines on 2 cores
	b.ResetTimer()
	var n int
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			post("PutLogEvents", bodies[i%len(bodies)])
			i++
		}
	})
	n = b.N * events
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
