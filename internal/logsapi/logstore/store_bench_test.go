package logstore

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkFillPastLimit appends 100-byte events in batches of 5,000 to 8
// streams, fsync on, four times as much as the 64 MiB limit, maintaining the
// store as the server does when an append crosses the limit. It reports
// the append rate and the file's size against the limit: what the disk
// holds at most for a given --log-storage-limit.
//
//	go test -run '^$' -bench FillPastLimit -benchtime 1x ./internal/logsapi/logstore
func BenchmarkFillPastLimit(b *testing.B) {
	const limit, batch, streams = 64 << 20, 5000, 8
	for i := 0; i < b.N; i++ {
		s, err := Open(filepath.Join(b.TempDir(), "logs.db"), Options{Limit: limit})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.CreateGroup(Group{Name: "g"}); err != nil {
			b.Fatal(err)
		}
		for j := range streams {
			if err := s.CreateStream("g", fmt.Sprint(j), 0); err != nil {
				b.Fatal(err)
			}
		}
		evs := make([]Input, batch)
		pad := strings.Repeat(".", 100-12)
		total, events, maxFile := int64(0), 0, int64(0)
		start := time.Now()
		for n := 0; total < 4*limit; n++ {
			ts := start.UnixMilli() + int64(n)
			for k := range evs {
				evs[k] = Input{Timestamp: ts, Message: fmt.Sprintf("%011d ", events+k) + pad}
			}
			res, err := s.Append("g", fmt.Sprint(n%streams), evs, ts)
			if err != nil {
				b.Fatal(err)
			}
			events += batch
			total += int64(batch * (100 + EventOverhead))
			if s.OverLimit(res.Total) {
				if _, err := s.Maintain(); err != nil {
					b.Fatal(err)
				}
			}
			if fs, _ := s.FileSize(); fs > maxFile {
				maxFile = fs
			}
		}
		took := time.Since(start)
		stored, _ := s.StoredBytes()
		b.ReportMetric(float64(events)/took.Seconds(), "events/s")
		b.ReportMetric(float64(maxFile)/limit, "file/limit")
		b.ReportMetric(float64(stored)/limit, "stored/limit")
		s.Close()
	}
}
