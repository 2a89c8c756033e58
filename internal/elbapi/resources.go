package elbapi

import (
	"net/url"
	"sort"
	"strings"
)

// arnParams are the parameters that name the resources an operation acts on.
var arnParams = []string{"LoadBalancerArn", "TargetGroupArn", "ListenerArn", "RuleArn"}

// arnLists are the list parameters that do.
var arnLists = []string{"LoadBalancerArns", "TargetGroupArns", "ListenerArns", "RuleArns", "ResourceArns"}

// Resources names the ARNs a request acts on, for identity policies
// (elasticloadbalancing:Action on those ARNs). Creations and listings that
// name no ARN are evaluated against "*".
func (a *API) Resources(op string, body []byte) ([]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, p := range arnParams {
		if v := vals.Get(p); v != "" {
			out = append(out, v)
		}
	}
	for _, p := range arnLists {
		prefix := p + ".member."
		var keys []string
		for k := range vals {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, vals.Get(k))
		}
	}
	// Forward actions name target groups too.
	for k, v := range vals {
		if strings.HasSuffix(k, ".TargetGroupArn") && len(v) > 0 && v[0] != "" {
			out = append(out, v[0])
		}
	}
	return out, nil
}
