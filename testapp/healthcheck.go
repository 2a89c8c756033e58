package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck is the probe for Docker HEALTHCHECK and ECS container health
// checks in images without a shell or curl: it GETs url and returns the
// process exit code, 0 for a 2xx answer and 1 for anything else, as Docker
// expects. The reason goes to stderr, where Docker records it in the health log.
func healthcheck(url string, timeout time.Duration, stderr io.Writer) int {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "healthcheck: %s: %s %q\n", url, resp.Status, body)
		return 1
	}
	return 0
}
