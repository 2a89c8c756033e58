package logsapi

import "encoding/json"

// Resources returns the ARNs a request names, for IAM-style policies (the
// request gate's Rules.Resources), in the forms CloudWatch Logs authorizes:
// operations on a stream name arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM,
// operations on a group the same with an empty stream
// (...:log-group:GROUP:log-stream:), and DescribeLogGroups and
// TestMetricFilter a group-less ...:log-group::log-stream:. So the usual
// policy resource arn:aws:logs:*:*:log-group:GROUP:* covers a group and its
// streams. A body that does not decode names nothing; the operation refuses
// it afterwards.
func (a *API) Resources(op string, body []byte) ([]string, error) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil, nil
	}
	group := in.LogGroupName
	if group == "" && in.LogGroupIdentifier != "" {
		if name, err := a.nameFromIdentifier(in.LogGroupIdentifier); err == nil {
			group = name
		}
	}
	switch op {
	case "CreateLogStream", "DeleteLogStream", "PutLogEvents", "GetLogEvents":
		return []string{a.streamARN(group, in.LogStreamName)}, nil
	case "DescribeLogGroups", "TestMetricFilter":
		return []string{a.streamARN("", "")}, nil
	}
	return []string{a.streamARN(group, "")}, nil
}
