package metrics

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

const arnPrefix = "arn:aws:ecs:us-east-1:123456789012:task/"

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// newTestUtilization is a Utilization whose tasks are given as documents
// (no store) and whose clock the test moves.
func newTestUtilization(t *testing.T, tasks map[string]taskDoc) (*Utilization, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC)}
	u := New(Config{Now: clk.now})
	var kvs []store.KV
	for key, d := range tasks {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		kvs = append(kvs, store.KV{Key: key, Value: b})
	}
	u.loadTasks(kvs, 1)
	return u, clk
}

func reserved(cpu, mem int32) *state.TaskReservation {
	return &state.TaskReservation{CPU: cpu, Memory: mem}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestServiceAverageIsUsedOverReservedAcrossTasks(t *testing.T) {
	u, clk := newTestUtilization(t, map[string]taskDoc{
		state.TaskKey("c1", "t1"): {InstanceID: "i1", Group: "service:web", LastStatus: "RUNNING", Reserved: reserved(512, 256)},
		state.TaskKey("c1", "t2"): {InstanceID: "i2", Group: "service:web", LastStatus: "RUNNING", Reserved: reserved(1024, 512)},
		state.TaskKey("c1", "t3"): {InstanceID: "i1", Group: "family:batch", LastStatus: "RUNNING", Reserved: reserved(256, 128)},
	})
	now := clk.t
	if n := u.RecordTaskStats("c1", "i1", &agentproto.SubmitTaskStatsRequest{SentAt: now, Samples: []agentproto.TaskStatsSample{
		{TaskArn: arnPrefix + "c1/t1", Time: now, CPUUnits: 256, MemoryMiB: 64},
		{TaskArn: arnPrefix + "c1/t3", Time: now, CPUUnits: 256, MemoryMiB: 128},
		{TaskArn: arnPrefix + "c1/t2", Time: now, CPUUnits: 1024, MemoryMiB: 512}, // t2 is on i2, not i1
		{TaskArn: arnPrefix + "c2/t1", Time: now, CPUUnits: 1, MemoryMiB: 1},      // another cluster
		{TaskArn: "not-an-arn", Time: now},
	}}); n != 2 {
		t.Fatalf("RecordTaskStats kept %d samples; want 2 (t1 and t3 of instance i1)", n)
	}
	u.RecordTaskStats("c1", "i2", &agentproto.SubmitTaskStatsRequest{SentAt: now, Samples: []agentproto.TaskStatsSample{
		{TaskArn: arnPrefix + "c1/t2", Time: now, CPUUnits: 512, MemoryMiB: 128},
	}})
	// web: CPU (256+512)/(512+1024) = 50%; memory (64+128)/(256+512) = 25%.
	for _, tc := range []struct {
		metric string
		want   float64
	}{
		{ServiceAverageCPU, 50},
		{CPUUtilization, 50},
		{ServiceAverageMemory, 25},
		{MemoryUtilization, 25},
	} {
		got, ok := u.ServiceAverage("c1", "web", tc.metric, time.Minute)
		if !ok || !near(got, tc.want) {
			t.Errorf("ServiceAverage(c1, web, %s, 1m) = %v, %v; want %v, true", tc.metric, got, ok, tc.want)
		}
	}
	if got, ok := u.ServiceAverage("c1", "web", "ALBRequestCountPerTarget", time.Minute); ok {
		t.Errorf("ServiceAverage of a metric it does not keep = %v, true; want false", got)
	}
	if got, ok := u.ServiceAverage("c1", "batch", ServiceAverageCPU, time.Minute); ok {
		t.Errorf("ServiceAverage of a standalone task's group = %v, true; want false (not a service)", got)
	}
	if got, ok := u.TaskAverage("c1", "t3", CPUUtilization, time.Minute); !ok || !near(got, 100) {
		t.Errorf("TaskAverage(t3, CPU) = %v, %v; want 100, true", got, ok)
	}
}

func TestServiceAverageWindowCoversWholeMinutes(t *testing.T) {
	u, clk := newTestUtilization(t, map[string]taskDoc{
		state.TaskKey("c", "t"): {InstanceID: "i", Group: "service:s", LastStatus: "RUNNING", Reserved: reserved(1000, 0)},
	})
	start := clk.t
	// Ten minutes at 10%, then two at 90%.
	for m := 0; m < 12; m++ {
		load := 100.0
		if m >= 10 {
			load = 900
		}
		at := start.Add(time.Duration(m) * time.Minute)
		clk.t = at
		u.RecordTaskStats("c", "i", &agentproto.SubmitTaskStatsRequest{SentAt: at, Samples: []agentproto.TaskStatsSample{
			{TaskArn: arnPrefix + "c/t", Time: at, CPUUnits: load},
		}})
	}
	clk.t = start.Add(11 * time.Minute)
	for _, tc := range []struct {
		window time.Duration
		want   float64
	}{
		{time.Minute, 90},       // minutes 10 and 11
		{3 * time.Minute, 50},   // minutes 8 to 11: (10+10+90+90)/4
		{time.Hour, 280 / 12.0}, // all twelve: (10*10 + 2*90)/12
	} {
		got, ok := u.ServiceAverage("c", "s", ServiceAverageCPU, tc.window)
		if !ok || math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("ServiceAverage(window %s) = %v, %v; want %v", tc.window, got, ok, tc.want)
		}
	}
	if got, ok := u.ServiceAverage("c", "s", ServiceAverageMemory, time.Hour); ok {
		t.Errorf("memory utilization of tasks that reserved no memory = %v, true; want false", got)
	}
	pts := u.ServiceSeries("c", "s", CPUUtilization)
	if len(pts) != 12 || !near(pts[0].Value, 10) || !near(pts[11].Value, 90) || !pts[11].Time.Equal(start.Truncate(time.Minute).Add(11*time.Minute)) {
		t.Errorf("ServiceSeries = %+v; want 12 minutes from 10%% to 90%%", pts)
	}
}

func TestSamplesMoveByTheAgentsClockSkewAndOldOnesAreDropped(t *testing.T) {
	u, clk := newTestUtilization(t, map[string]taskDoc{
		state.TaskKey("c", "t"): {InstanceID: "i", Group: "service:s", LastStatus: "RUNNING", CPU: "100", Memory: "100"},
	})
	now := clk.t
	agentNow := now.Add(-3 * time.Hour) // the agent's clock is 3 hours behind
	if n := u.RecordTaskStats("c", "i", &agentproto.SubmitTaskStatsRequest{SentAt: agentNow, Samples: []agentproto.TaskStatsSample{
		{TaskArn: arnPrefix + "c/t", Time: agentNow, CPUUnits: 50, MemoryMiB: 20},
		{TaskArn: arnPrefix + "c/t", Time: agentNow.Add(-2 * time.Hour), CPUUnits: 99, MemoryMiB: 99},
	}}); n != 1 {
		t.Fatalf("kept %d samples; want 1 (the one two hours old is past the hour kept)", n)
	}
	if got, ok := u.ServiceAverage("c", "s", ServiceAverageCPU, time.Minute); !ok || !near(got, 50) {
		t.Errorf("CPU after a skewed report = %v, %v; want 50 (task cpu from the task's cpu member), true", got, ok)
	}
	if got, ok := u.ServiceAverage("c", "s", ServiceAverageMemory, time.Minute); !ok || !near(got, 20) {
		t.Errorf("memory = %v, %v; want 20, true", got, ok)
	}
}

func TestStoppedTasksReportNothing(t *testing.T) {
	u, clk := newTestUtilization(t, map[string]taskDoc{
		state.TaskKey("c", "t"): {InstanceID: "i", Group: "service:s", LastStatus: "STOPPED", Reserved: reserved(100, 100)},
	})
	if n := u.RecordTaskStats("c", "i", &agentproto.SubmitTaskStatsRequest{Samples: []agentproto.TaskStatsSample{
		{TaskArn: arnPrefix + "c/t", Time: clk.t, CPUUnits: 50},
	}}); n != 0 {
		t.Errorf("kept %d samples of a STOPPED task; want 0", n)
	}
	if acc, drop := u.Samples(); acc != 0 || drop != 1 {
		t.Errorf("Samples() = %d accepted, %d dropped; want 0, 1", acc, drop)
	}
}

func TestSeriesRingForgetsMinutesPastItsLength(t *testing.T) {
	s := newSeries(3)
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for m := 0; m < 5; m++ {
		s.add(sample{at: base.Add(time.Duration(m) * time.Minute), cpuUsed: float64(m), cpuRes: 10})
	}
	// A late sample for minute 1 must not overwrite minute 4 in its slot.
	s.add(sample{at: base.Add(time.Minute), cpuUsed: 100, cpuRes: 10})
	p := s.sum(base, base.Add(10*time.Minute))
	if p.samples != 3 || !near(p.cpuUsed, 2+3+4) {
		t.Errorf("sum over a ring of 3 after 5 minutes = %d samples, %v used; want 3 samples, 9 used", p.samples, p.cpuUsed)
	}
}
