package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxBurn bounds one /burn request, so a forgotten load test ends by itself.
const maxBurn = time.Hour

// burnFor handles /burn?seconds=N&cores=K: it keeps K goroutines (default 1,
// at most 64) busy on the CPU for N seconds (default 60) and answers at once,
// so that a load test can raise a service's CPU utilization from outside and
// let it fall again without restarting anything. Any method is accepted, for
// busybox wget.
func (a *app) burnFor(w http.ResponseWriter, r *http.Request) {
	seconds, err := queryInt(r, "seconds", 60, 1, int(maxBurn/time.Second))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cores, err := queryInt(r, "cores", 1, 1, 64)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d := time.Duration(seconds) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), d)
	for range cores {
		go burn(ctx)
	}
	time.AfterFunc(d, cancel)
	fmt.Fprintf(w, "burning %d cores for %s\n", cores, d)
}

func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}
