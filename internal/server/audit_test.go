package server

import "testing"

func TestMutatingNamesWithAServicePrefix(t *testing.T) {
	for op, want := range map[string]bool{
		"RunTask": true, "DescribeTasks": false, "ListClusters": false, "GetParameter": false, "PollTasks": false,
		"elasticloadbalancing.DescribeLoadBalancers": false, "elasticloadbalancing.CreateLoadBalancer": true,
		"Logs_20140328.FilterLogEvents": false, "Logs_20140328.PutLogEvents": true, "ExplainPlacement": false,
	} {
		if got := mutating(op); got != want {
			t.Errorf("mutating(%q) = %v; want %v", op, got, want)
		}
	}
}
