package capacity

import "testing"

func TestNeededAndReservation(t *testing.T) {
	task := func(cpu, mem int64) Resources { return Resources{CPU: cpu, Memory: mem} }
	size := Resources{CPU: 1024, Memory: 1024}
	for _, tc := range []struct {
		name            string
		d               Demand
		steps           Steps
		target          int
		m, cpr, desired int
	}{
		{"idle and empty", Demand{}, Steps{1, 10}, 100, 0, 100, 0},
		{"waiting with no instance", Demand{Waiting: []Resources{task(256, 256)}, Instance: size}, Steps{1, 10}, 100, 1, 200, 1},
		{"four tasks fill one instance", Demand{Waiting: []Resources{task(256, 256), task(256, 256), task(256, 256), task(256, 256)}, Instance: size}, Steps{1, 10}, 100, 1, 200, 1},
		{"five tasks need two", Demand{Running: 1, Busy: 1, Waiting: []Resources{task(256, 256), task(256, 256), task(256, 256), task(256, 256), task(256, 256)}, Instance: size}, Steps{1, 10}, 100, 3, 300, 3},
		{"min step", Demand{Running: 2, Busy: 2, Waiting: []Resources{task(1, 1)}, Instance: size}, Steps{3, 10}, 100, 5, 250, 5},
		{"max step", Demand{Running: 1, Busy: 1, Waiting: []Resources{task(1024, 1024), task(1024, 1024), task(1024, 1024)}, Instance: size}, Steps{1, 2}, 100, 3, 300, 3},
		{"unknown size: one to learn it", Demand{Waiting: []Resources{task(1, 1), task(1, 1)}}, Steps{1, 10}, 100, 1, 200, 1},
		{"all busy", Demand{Running: 3, Busy: 3}, Steps{1, 10}, 100, 3, 100, 3},
		{"one idle of three", Demand{Running: 3, Busy: 2}, Steps{1, 10}, 100, 2, 67, 2},
		{"spare at target 50", Demand{Running: 2, Busy: 2}, Steps{1, 10}, 50, 2, 100, 4},
		{"none busy", Demand{Running: 2}, Steps{1, 10}, 100, 0, 0, 0},
		{"too big for an instance", Demand{Waiting: []Resources{task(4096, 64)}, Instance: size}, Steps{1, 10}, 100, 1, 200, 1},
	} {
		m := Needed(tc.d, tc.steps)
		cpr := Reservation(m, tc.d.Running)
		desired := Desired(m, tc.target)
		if m != tc.m || cpr != tc.cpr || desired != tc.desired {
			t.Errorf("%s: M, reservation, desired = %d, %d, %d; want %d, %d, %d", tc.name, m, cpr, desired, tc.m, tc.cpr, tc.desired)
		}
	}
}
