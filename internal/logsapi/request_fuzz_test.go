package logsapi_test

import (
	"encoding/json"
	"testing"
)

var fuzzOps = []string{"CreateLogGroup", "DeleteLogGroup", "DescribeLogGroups", "PutRetentionPolicy", "DeleteRetentionPolicy",
	"CreateLogStream", "DeleteLogStream", "DescribeLogStreams", "PutLogEvents", "GetLogEvents", "FilterLogEvents",
	"TestMetricFilter", "PutLogGroupDeletionProtection"}

// FuzzRequests sends arbitrary bodies to every operation. Whatever arrives,
// the answer is a JSON object and never a server error: bad input is the
// client's, and says so.
func FuzzRequests(f *testing.F) {
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{"logGroupName":"g","tags":{"k":"v"},"logGroupClass":"STANDARD"}`},
		{2, `{"logGroupNamePrefix":"g","limit":1,"nextToken":"Zzpn"}`},
		{3, `{"logGroupName":"g","retentionInDays":7}`},
		{5, `{"logGroupName":"g","logStreamName":"s"}`},
		{7, `{"logGroupIdentifier":"arn:aws:logs:us-east-1:123456789012:log-group:g:*","orderBy":"LastEventTime","descending":true}`},
		{8, `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}],"sequenceToken":"x"}`},
		{9, `{"logGroupName":"g","logStreamName":"s","nextToken":"f/0000000000000000000000000000000000000001","limit":5}`},
		{10, `{"logGroupName":"g","filterPattern":"?a ?b -c \"d e\"","nextToken":"F1-00000000000000000000-00000000000000000000","startFromHead":false}`},
		{11, `{"filterPattern":"%[a-z]+%","logEventMessages":["abc"]}`},
		{9, `{"logGroupName":"g","logStreamName":"s","startTime":-1,"endTime":9223372036854775807}`},
		{8, `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":9223372036854775807,"message":"m"}]}`},
		{0, `{"logGroupName":7}`},
		{1, `[]`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	e := start(f)
	e.raw(f, "CreateLogGroup", `{"logGroupName":"g"}`)
	e.raw(f, "CreateLogStream", `{"logGroupName":"g","logStreamName":"s"}`)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		status, code, answer := e.raw(t, name, string(body))
		if status >= 500 {
			t.Fatalf("%s %q: status %d %s", name, body, status, answer)
		}
		var obj map[string]any
		if err := json.Unmarshal(answer, &obj); err != nil {
			t.Fatalf("%s %q: answer %q is not a JSON object", name, body, answer)
		}
		if status != 200 && (code == "" || obj["message"] == nil || obj["message"] == "") {
			t.Fatalf("%s %q: error %d without a code and message: %s", name, body, status, answer)
		}
	})
}
