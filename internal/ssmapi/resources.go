package ssmapi

import (
	"encoding/json"
	"strings"
)

// Resources returns the parameter ARNs a request names, for IAM-style
// policies (the request gate's Rules.Resources): the parameter of Put, Get,
// Delete and GetParameterHistory, each of GetParameters' and
// DeleteParameters' names, the path of GetParametersByPath (as SSM
// authorizes it), and nothing — "*" — for DescribeParameters. A body that
// does not decode names nothing; the operation refuses it afterwards.
func (a *API) Resources(op string, body []byte) ([]string, error) {
	var in struct {
		Name  string   `json:"Name"`
		Names []string `json:"Names"`
		Path  string   `json:"Path"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil, nil
	}
	var names []string
	switch op {
	case "PutParameter", "GetParameter", "DeleteParameter", "GetParameterHistory":
		names = []string{in.Name}
	case "GetParameters", "DeleteParameters":
		names = in.Names
	case "GetParametersByPath":
		names = []string{in.Path}
	}
	var arns []string
	for _, n := range names {
		n = strings.Trim(n, " ")
		if n == "" {
			continue
		}
		if strings.HasPrefix(n, "arn:") {
			if name, err := a.nameFromARN(n); err == nil {
				n = name
			} else {
				arns = append(arns, n) // matched as written; the operation refuses it
				continue
			}
		}
		if i := strings.LastIndexByte(n, ':'); i >= 0 {
			n = n[:i] // a version selector is not part of the resource
		}
		if n != "/" {
			n = strings.TrimSuffix(n, "/")
		}
		arns = append(arns, a.arn(n))
	}
	return arns, nil
}
