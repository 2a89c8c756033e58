package logsapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

var groupClasses = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY"}

// CreateLogGroup creates an empty log group.
func (a *API) CreateLogGroup(ctx context.Context, in *createLogGroupInput) (*empty, error) {
	name, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	g := logstore.Group{Name: name, CreationTime: a.nowMillis(), Class: "STANDARD", DeletionProtection: in.DeletionProtectionEnabled != nil && *in.DeletionProtectionEnabled}
	if in.LogGroupClass != nil {
		if !slices.Contains(groupClasses, *in.LogGroupClass) {
			return nil, invalid("1 validation error detected: Value %s at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [%s].", strconv.Quote(*in.LogGroupClass), strings.Join(groupClasses, ", "))
		}
		g.Class = *in.LogGroupClass
		if g.Class == "DELIVERY" {
			g.RetentionDays = 1 // the Delivery class keeps events for a day
		}
	}
	if in.KmsKeyID != nil {
		if len(*in.KmsKeyID) > 256 {
			return nil, invalid("1 validation error detected: Value at 'kmsKeyId' failed to satisfy constraint: Member must have length less than or equal to 256.")
		}
		g.KmsKeyID = *in.KmsKeyID
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	g.Tags = in.Tags
	if err := a.logs.CreateGroup(g); err != nil {
		return nil, storeErr(err, name, "")
	}
	return &empty{}, nil
}

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return awsproto.Errorf("TooManyTagsException", "A log group can have at most %d tags; the request has %d.", maxTags, len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(k, "aws:") {
			return invalid("Tag key %s is not valid: keys are 1 to 128 characters and must not begin with \"aws:\".", strconv.Quote(k))
		}
		if len(v) > 256 {
			return invalid("The value of tag %s is longer than 256 characters.", strconv.Quote(k))
		}
	}
	return nil
}

// DeleteLogGroup deletes a log group and every event in it.
func (a *API) DeleteLogGroup(ctx context.Context, in *logGroupNameInput) (*empty, error) {
	name, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	g, err := a.logs.Group(name)
	if err != nil {
		return nil, storeErr(err, name, "")
	}
	if g.DeletionProtection {
		return nil, awsproto.Errorf("ValidationException", "Log group %s has deletion protection enabled; turn it off first (aws logs put-log-group-deletion-protection --log-group-identifier %s --no-deletion-protection-enabled).", name, name)
	}
	return &empty{}, storeErr(a.logs.DeleteGroup(name), name, "")
}

type deletionProtectionInput struct {
	LogGroupIdentifier        *string `json:"logGroupIdentifier"`
	DeletionProtectionEnabled *bool   `json:"deletionProtectionEnabled"`
}

// PutLogGroupDeletionProtection turns a group's deletion protection on or off.
func (a *API) PutLogGroupDeletionProtection(ctx context.Context, in *deletionProtectionInput) (*empty, error) {
	id, err := required(in.LogGroupIdentifier, "logGroupIdentifier")
	if err != nil {
		return nil, err
	}
	name, err := a.nameFromIdentifier(id)
	if err != nil {
		return nil, err
	}
	on, err := required(in.DeletionProtectionEnabled, "deletionProtectionEnabled")
	if err != nil {
		return nil, err
	}
	err = a.logs.UpdateGroup(name, func(g *logstore.Group) error { g.DeletionProtection = on; return nil })
	return &empty{}, storeErr(err, name, "")
}

// PutRetentionPolicy sets how many days a group keeps its events.
func (a *API) PutRetentionPolicy(ctx context.Context, in *putRetentionPolicyInput) (*empty, error) {
	name, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	days, err := required(in.RetentionInDays, "retentionInDays")
	if err != nil {
		return nil, err
	}
	if err := checkRetention(days); err != nil {
		return nil, err
	}
	err = a.logs.UpdateGroup(name, func(g *logstore.Group) error { g.RetentionDays = days; return nil })
	return &empty{}, storeErr(err, name, "")
}

// DeleteRetentionPolicy makes a group keep its events forever (within the
// server's storage limit).
func (a *API) DeleteRetentionPolicy(ctx context.Context, in *logGroupNameInput) (*empty, error) {
	name, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	err = a.logs.UpdateGroup(name, func(g *logstore.Group) error { g.RetentionDays = 0; return nil })
	return &empty{}, storeErr(err, name, "")
}

// DescribeLogGroups lists log groups in name order.
func (a *API) DescribeLogGroups(ctx context.Context, in *describeLogGroupsInput) (*describeLogGroupsOutput, error) {
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalid("logGroupNamePrefix and logGroupNamePattern are mutually exclusive; give one of them.")
	}
	if len(in.LogGroupIdentifiers) > 0 && (in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil || in.LogGroupClass != nil) {
		return nil, invalid("With logGroupIdentifiers, no other filter may be given.")
	}
	if in.LogGroupNamePrefix != nil {
		if err := checkGroupName(*in.LogGroupNamePrefix, "logGroupNamePrefix"); err != nil {
			return nil, err
		}
	}
	if in.LogGroupClass != nil && !slices.Contains(groupClasses, *in.LogGroupClass) {
		return nil, invalid("1 validation error detected: Value %s at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [%s].", strconv.Quote(*in.LogGroupClass), strings.Join(groupClasses, ", "))
	}
	n, err := limit(in.Limit, maxDescribeLimit, maxDescribeLimit)
	if err != nil {
		return nil, err
	}
	var ids map[string]bool
	if len(in.LogGroupIdentifiers) > 0 {
		if len(in.LogGroupIdentifiers) > 50 {
			return nil, invalid("1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length less than or equal to 50.")
		}
		ids = map[string]bool{}
		for _, id := range in.LogGroupIdentifiers {
			name, err := a.nameFromIdentifier(id)
			if err != nil {
				return nil, err
			}
			ids[name] = true
		}
	}
	from := ""
	if in.NextToken != nil {
		after, err := decodeToken(*in.NextToken, "g")
		if err != nil {
			return nil, err
		}
		from = after + "\x00" // the first name after it
	}
	if in.LogGroupNamePrefix != nil {
		from = max(from, *in.LogGroupNamePrefix)
	}
	out := &describeLogGroupsOutput{}
	err = a.logs.Groups(from, func(g *logstore.Group) bool {
		switch {
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(g.Name, *in.LogGroupNamePrefix):
			return false // past the names with the prefix
		case in.LogGroupNamePattern != nil && !strings.Contains(g.Name, *in.LogGroupNamePattern):
			return true
		case ids != nil && !ids[g.Name]:
			return true
		case in.LogGroupClass != nil && g.Class != *in.LogGroupClass:
			return true
		}
		if len(out.LogGroups) == n {
			out.NextToken = encodeToken("g", out.LogGroups[n-1].LogGroupName)
			return false
		}
		out.LogGroups = append(out.LogGroups, a.describeGroup(g, in.LogGroupNamePattern != nil))
		return true
	})
	if err != nil {
		return nil, storeErr(err, "", "")
	}
	return out, nil
}

func (a *API) describeGroup(g *logstore.Group, brief bool) logGroup {
	out := logGroup{LogGroupName: g.Name, CreationTime: g.CreationTime, Arn: a.groupARN(g.Name) + ":*"}
	if brief {
		return out // a name pattern answers only name, creation time and ARN
	}
	zero := int32(0)
	bytes := g.StoredBytes
	protected := g.DeletionProtection
	out.MetricFilterCount = &zero
	out.StoredBytes = &bytes
	out.KmsKeyID = g.KmsKeyID
	out.LogGroupClass = g.Class
	out.LogGroupArn = a.groupARN(g.Name)
	out.DeletionProtectionEnabled = &protected
	if g.RetentionDays > 0 {
		days := g.RetentionDays
		out.RetentionInDays = &days
	}
	return out
}

// CreateLogStream creates an empty stream in a group.
func (a *API) CreateLogStream(ctx context.Context, in *logStreamInput) (*empty, error) {
	group, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	stream, err := requiredStream(in.LogStreamName)
	if err != nil {
		return nil, err
	}
	return &empty{}, storeErr(a.logs.CreateStream(group, stream, a.nowMillis()), group, stream)
}

// DeleteLogStream deletes a stream and its events.
func (a *API) DeleteLogStream(ctx context.Context, in *logStreamInput) (*empty, error) {
	group, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	stream, err := requiredStream(in.LogStreamName)
	if err != nil {
		return nil, err
	}
	return &empty{}, storeErr(a.logs.DeleteStream(group, stream), group, stream)
}

// DescribeLogStreams lists a group's streams by name or by last event time.
func (a *API) DescribeLogStreams(ctx context.Context, in *describeLogStreamsInput) (*describeLogStreamsOutput, error) {
	group, err := a.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return nil, invalid("1 validation error detected: Value %s at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime].", strconv.Quote(*in.OrderBy))
		}
	}
	prefix := ""
	if in.LogStreamNamePrefix != nil {
		if byTime {
			return nil, invalid("Cannot order by LastEventTime with a logStreamNamePrefix: give one or the other.")
		}
		prefix = *in.LogStreamNamePrefix
		if err := checkStreamName(prefix, "logStreamNamePrefix"); err != nil {
			return nil, err
		}
	}
	n, err := limit(in.Limit, maxDescribeLimit, maxDescribeLimit)
	if err != nil {
		return nil, err
	}
	desc := in.Descending != nil && *in.Descending
	after := ""
	if in.NextToken != nil {
		if after, err = decodeToken(*in.NextToken, "s"); err != nil {
			return nil, err
		}
	}
	streams, err := a.logs.Streams(group, prefix)
	if err != nil {
		return nil, storeErr(err, group, "")
	}
	sortKey := func(st *logstore.Stream) string {
		if byTime {
			return fmt.Sprintf("%020d/%s", st.LastEventTime, st.Name)
		}
		return st.Name
	}
	slices.SortFunc(streams, func(x, y *logstore.Stream) int {
		c := strings.Compare(sortKey(x), sortKey(y))
		if desc {
			return -c
		}
		return c
	})
	out := &describeLogStreamsOutput{}
	last := ""
	for _, st := range streams {
		k := sortKey(st)
		if in.NextToken != nil && (!desc && k <= after || desc && k >= after) {
			continue
		}
		if len(out.LogStreams) == n {
			out.NextToken = encodeToken("s", last)
			break
		}
		out.LogStreams = append(out.LogStreams, a.describeStream(group, st))
		last = k
	}
	return out, nil
}

func (a *API) describeStream(group string, st *logstore.Stream) logStream {
	out := logStream{LogStreamName: st.Name, CreationTime: st.CreationTime, Arn: a.streamARN(group, st.Name), StoredBytes: st.StoredBytes}
	if st.LastSeq > 0 {
		first, last, ingested := st.FirstEventTime, st.LastEventTime, st.LastIngestionTime
		out.FirstEventTimestamp, out.LastEventTimestamp, out.LastIngestionTime = &first, &last, &ingested
		out.UploadSequenceToken = sequenceToken(st.LastSeq)
	}
	return out
}

// sequenceToken formats a stream's last sequence the way CloudWatch's
// tokens look (a long decimal); Wharf ignores the tokens it is sent.
func sequenceToken(seq uint64) string { return fmt.Sprintf("4959%052d", seq) }

// encodeToken and decodeToken make the opaque nextToken of the Describe
// operations: a kind letter and the sort key of the last item returned.
func encodeToken(kind, after string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + after))
	return &t
}

func decodeToken(tok, kind string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	after, ok := strings.CutPrefix(string(b), kind+":")
	if err != nil || !ok {
		return "", invalid("The specified nextToken is invalid: pass the nextToken of the previous answer unchanged.")
	}
	return after, nil
}
