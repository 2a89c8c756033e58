package logsapi

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
	in, ok := peekNames(body)
	if !ok {
		return nil, nil
	}
	group := in.Group
	if group == "" && in.Identifier != "" {
		if name, err := a.nameFromIdentifier(in.Identifier); err == nil {
			group = name
		}
	}
	switch op {
	case "CreateLogStream", "DeleteLogStream", "PutLogEvents", "GetLogEvents":
		return []string{a.streamARN(group, in.Stream)}, nil
	case "DescribeLogGroups", "TestMetricFilter":
		return []string{a.streamARN("", "")}, nil
	}
	return []string{a.streamARN(group, "")}, nil
}
