package ssmapi

import (
	"context"
	"regexp"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Parameter types and the one tier Wharf has.
const (
	typeString       = "String"
	typeStringList   = "StringList"
	typeSecureString = "SecureString"
	tierStandard     = "Standard"
	dataTypeText     = "text"
	// defaultKeyID is what SSM reports for a SecureString sealed with the
	// account's default key; Wharf's master key plays that part.
	defaultKeyID = "alias/aws/ssm"
	// maxVersions is how many versions SSM keeps; the oldest goes first.
	maxVersions = 100
	maxTags     = 50
	// maxAttempts bounds the read-modify-write retries of one request.
	maxAttempts = 16
)

func validType(t string) bool {
	return t == typeString || t == typeStringList || t == typeSecureString
}

// PutParameter creates a parameter (version 1) or, with Overwrite, adds a
// version to an existing one.
func (a *API) PutParameter(ctx context.Context, in *putParameterInput) (*putParameterOutput, error) {
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := checkPut(in); err != nil {
		return nil, err
	}
	overwrite := model.Val(in.Overwrite)
	var version int64
	for attempt := 0; ; attempt++ {
		cur, rev, err := state.Get[state.Parameter](ctx, a.st, state.ParameterKey(name))
		switch {
		case isNotFound(err):
			cur = nil
		case err != nil:
			return nil, err
		case !overwrite:
			return nil, awsproto.Errorf(codeParameterAlreadyExists, "The parameter %s already exists. To add a new version, set Overwrite to true (aws ssm put-parameter --overwrite).", name)
		}
		p, err := a.newVersion(name, cur, in)
		if err != nil {
			return nil, err
		}
		txn := store.Txn{
			Conds: []store.Cond{{Key: state.ParameterKey(name), Revision: rev}},
			Ops: []store.Op{
				state.Put(state.ParameterKey(name), p),
				state.Put(state.ParameterVersionKey(name, p.Version), p),
			},
		}
		if old := p.Version - maxVersions; old > 0 {
			txn.Ops = append(txn.Ops, state.Delete(state.ParameterVersionKey(name, old)))
		}
		_, err = a.st.Commit(ctx, txn)
		if store.IsConflict(err) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		version = p.Version
		break
	}
	return &putParameterOutput{Version: version, Tier: tierStandard}, nil
}

// checkPut validates what does not depend on the parameter's current state.
// No message quotes the value: it may be a secret.
func checkPut(in *putParameterInput) error {
	if in.Value == nil {
		return validation("Value is required: the parameter's value, up to %d bytes.", maxValueBytes)
	}
	v := *in.Value
	switch {
	case v == "":
		return validation("Value must not be empty.")
	case len(v) > maxValueBytes:
		return validation("The value is %d bytes; Standard tier parameters hold at most %d bytes, and Wharf has only the Standard tier.", len(v), maxValueBytes)
	case nestsParameter(v):
		return validation("A parameter value can't nest another parameter: remove the \"{{...}}\" from the value.")
	}
	if in.Type != "" && !validType(in.Type) {
		return validation("Type %q is not a parameter type; use String, StringList or SecureString.", in.Type)
	}
	switch in.Tier {
	case "", tierStandard, "Intelligent-Tiering":
	case "Advanced":
		return validation("Wharf's parameter store has only the Standard tier (values up to 4 KiB, no policies); omit Tier or set it to Standard.")
	default:
		return validation("Tier %q is not a parameter tier; use Standard (the only tier Wharf has).", in.Tier)
	}
	if p := strings.TrimSpace(model.Val(in.Policies)); p != "" && p != "[]" {
		return validation("Parameter policies need the Advanced tier, which Wharf's parameter store does not have; omit Policies.")
	}
	if dt := model.Val(in.DataType); dt != "" && dt != dataTypeText {
		return validation("DataType %q is not supported: Wharf's parameter store holds plain values (DataType text) only.", dt)
	}
	if d := model.Val(in.Description); len(d) > maxDescriptionLen {
		return validation("Description is %d characters; the limit is %d.", len(d), maxDescriptionLen)
	}
	if in.KeyID != nil && (len(*in.KeyID) < 1 || len(*in.KeyID) > 256) {
		return awsproto.Errorf(codeInvalidKeyID, "KeyId must be 1 to 256 characters long.")
	}
	if len(in.Tags) > 0 && model.Val(in.Overwrite) {
		return validation("Tags and Overwrite can't be used together: tags are set when a parameter is created. Remove Overwrite to create a tagged parameter.")
	}
	return checkTags(in.Tags)
}

// nestsParameter reports whether v holds "{{...}}", which SSM refuses.
func nestsParameter(v string) bool {
	i := strings.Index(v, "{{")
	return i >= 0 && strings.Contains(v[i+2:], "}}")
}

func checkTags(tags []tag) error {
	if len(tags) > maxTags {
		return validation("A parameter can have at most %d tags; got %d.", maxTags, len(tags))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return validation("Tag keys are 1 to 128 characters and tag values at most 256; tag %q does not fit.", t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return validation("Tag key %q is reserved: keys beginning with \"aws:\" are for AWS use.", t.Key)
		}
		if seen[t.Key] {
			return validation("Tag key %q appears twice.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// newVersion builds the next version of a parameter from the request and the
// current version (nil when the parameter is new). Members the request leaves
// out keep their current values, as SSM's overwrite does.
func (a *API) newVersion(name string, cur *state.Parameter, in *putParameterInput) (*state.Parameter, error) {
	p := &state.Parameter{Name: name, Type: in.Type, Tier: tierStandard, DataType: dataTypeText, Version: 1}
	if cur != nil {
		p.Version = cur.Version + 1
		p.Description, p.AllowedPattern, p.Tags = cur.Description, cur.AllowedPattern, cur.Tags
		if p.Type == "" {
			p.Type = cur.Type
		}
		if cur.Type == typeSecureString && p.Type == typeSecureString {
			p.KeyID = cur.KeyID
		}
	}
	if p.Type == "" {
		return nil, validation("Type is required when you create a parameter: String, StringList or SecureString.")
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.AllowedPattern != nil {
		p.AllowedPattern = *in.AllowedPattern
	}
	if err := checkPattern(p.AllowedPattern, *in.Value); err != nil {
		return nil, err
	}
	if in.KeyID != nil {
		if p.Type != typeSecureString {
			return nil, validation("KeyId applies to SecureString parameters only; omit it for a %s.", p.Type)
		}
		p.KeyID = *in.KeyID
	}
	for _, t := range in.Tags {
		p.Tags = append(p.Tags, state.ParameterTag{Key: t.Key, Value: t.Value})
	}
	p.LastModifiedDate = model.NewTime(a.now())
	p.LastModifiedUser = "arn:aws:iam::" + a.account + ":root"
	if p.Type != typeSecureString {
		p.Value = *in.Value
		return p, nil
	}
	if a.kr == nil {
		return nil, internal("This server has no master key, so it cannot store SecureString parameters; start it with a data directory that holds (or may create) its key file.")
	}
	if p.KeyID == "" {
		p.KeyID = defaultKeyID
	}
	p.Sealed = a.kr.Seal([]byte(*in.Value), sealAAD(name))
	return p, nil
}

// sealAAD binds a sealed value to its parameter, so that a sealed value
// copied to another parameter's record does not open.
func sealAAD(name string) []byte { return []byte("ssm-parameter\x00" + name) }

// checkPattern validates AllowedPattern and the value against it. The whole
// value must match, as Java's matches() asks; Go's RE2 syntax stands in for
// the Java syntax SSM uses, and the common forms agree.
func checkPattern(pattern, value string) error {
	if pattern == "" {
		return nil
	}
	if len(pattern) > maxPatternLen {
		return awsproto.Errorf(codeInvalidAllowedPattern, "AllowedPattern is %d characters; the limit is %d.", len(pattern), maxPatternLen)
	}
	_, err := regexp.Compile(pattern)
	var re *regexp.Regexp
	if err == nil {
		re, err = regexp.Compile(`^(?:` + pattern + `)$`)
	}
	if err != nil {
		return awsproto.Errorf(codeInvalidAllowedPattern, "AllowedPattern %q is not a valid regular expression: %v.", pattern, err)
	}
	if !re.MatchString(value) {
		return awsproto.Errorf(codePatternMismatch, "The value does not match the parameter's AllowedPattern %s.", pattern)
	}
	return nil
}
