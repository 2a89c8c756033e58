package ssmapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// GetParametersByPath returns the parameters below a path: its direct
// children, or with Recursive every level below it. Parameters whose names
// have no "/" live at the top level, "/".
func (a *API) GetParametersByPath(ctx context.Context, in *getParametersByPathInput) (*getParametersByPathOutput, error) {
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.MaxResults, 10, 10)
	if err != nil {
		return nil, err
	}
	match, err := compileFilters(in.ParameterFilters, byPathFilters)
	if err != nil {
		return nil, err
	}
	recursive := model.Val(in.Recursive)
	prefix := state.ParametersPrefix
	if path != "/" {
		prefix = state.ParameterKey(path + "/")
	}
	params, next, err := a.page(ctx, "GetParametersByPath", prefix, in.NextToken, limit, func(p *state.Parameter) bool {
		return underPath(p.Name, path, recursive) && match(p)
	})
	if err != nil {
		return nil, err
	}
	out := &getParametersByPathOutput{NextToken: next}
	for _, p := range params {
		w, err := a.toWire(p, model.Val(in.WithDecryption), "")
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, w)
	}
	return out, nil
}

// underPath reports whether name lies below path ("/" or a path without a
// trailing "/"): one level down, or any level when recursive.
func underPath(name, path string, recursive bool) bool {
	if path == "/" {
		return recursive || levels(name) == 1
	}
	rest, ok := strings.CutPrefix(name, path+"/")
	return ok && rest != "" && (recursive || !strings.Contains(rest, "/"))
}

// DescribeParameters lists parameters' metadata, never their values, filtered
// by ParameterFilters (Name, Type, KeyId, Path, Tier, DataType, tag:KEY) or
// the older Filters (Name, Type, KeyId).
func (a *API) DescribeParameters(ctx context.Context, in *describeParametersInput) (*describeParametersOutput, error) {
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		return nil, validation("Use either Filters or ParameterFilters in one request, not both; ParameterFilters is the current form.")
	}
	limit, err := pageLimit(in.MaxResults, 10, 50)
	if err != nil {
		return nil, err
	}
	filters := in.ParameterFilters
	if len(in.Filters) > 0 {
		if filters, err = fromOldFilters(in.Filters); err != nil {
			return nil, err
		}
	}
	match, err := compileFilters(filters, describeFilters)
	if err != nil {
		return nil, err
	}
	if model.Val(in.Shared) {
		// Nothing is shared with this account: there is no other account.
		match = func(*state.Parameter) bool { return false }
	}
	params, next, err := a.page(ctx, "DescribeParameters", state.ParametersPrefix, in.NextToken, limit, match)
	if err != nil {
		return nil, err
	}
	out := &describeParametersOutput{NextToken: next}
	for _, p := range params {
		out.Parameters = append(out.Parameters, parameterMetadata{
			Name: p.Name, ARN: a.arn(p.Name), Type: p.Type, KeyID: p.KeyID,
			LastModifiedDate: p.LastModifiedDate, LastModifiedUser: p.LastModifiedUser,
			Description: p.Description, AllowedPattern: p.AllowedPattern, Version: p.Version,
			Tier: p.Tier, Policies: []any{}, DataType: p.DataType,
		})
	}
	return out, nil
}

// GetParameterHistory lists a parameter's kept versions, oldest first.
func (a *API) GetParameterHistory(ctx context.Context, in *getParameterHistoryInput) (*getParameterHistoryOutput, error) {
	r, err := a.parseRef(in.Name)
	if err != nil {
		return nil, err
	}
	if r.Selector != "" {
		return nil, validation("GetParameterHistory takes a parameter's name without a version selector; it lists every version.")
	}
	limit, err := pageLimit(in.MaxResults, 50, 50)
	if err != nil {
		return nil, err
	}
	cur, err := a.find(ctx, r)
	if err != nil {
		return nil, err
	}
	versions, next, err := a.page(ctx, "GetParameterHistory", state.ParameterVersionsOf(cur.Name), in.NextToken, limit, func(*state.Parameter) bool { return true })
	if err != nil {
		return nil, err
	}
	out := &getParameterHistoryOutput{NextToken: next}
	for _, p := range versions {
		v, err := a.value(p, model.Val(in.WithDecryption))
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, parameterHistory{
			Name: p.Name, Type: p.Type, KeyID: p.KeyID, LastModifiedDate: p.LastModifiedDate,
			LastModifiedUser: p.LastModifiedUser, Description: p.Description, Value: v,
			AllowedPattern: p.AllowedPattern, Version: p.Version, Labels: []string{},
			Tier: p.Tier, Policies: []any{}, DataType: p.DataType,
		})
	}
	return out, nil
}

func pageLimit(max *int32, def, most int32) (int, error) {
	if max == nil {
		return int(def), nil
	}
	if *max < 1 || *max > most {
		return 0, validation("MaxResults must be from 1 to %d; got %d.", most, *max)
	}
	return int(*max), nil
}

// A page token names the operation and the last key a page returned, so a
// listing resumes right after it even while parameters come and go, and a
// token cannot steer another operation's listing.
type pageToken struct {
	Op    string `json:"o"`
	After string `json:"a"`
}

func badToken() error {
	return awsproto.Errorf(codeInvalidNextToken, "The NextToken is not valid: pass the NextToken of the previous answer to the same operation, unchanged.")
}

// page walks the documents under prefix from a token, decoding each, and
// keeps those match accepts, up to limit. The next token is "" once nothing
// more matches.
func (a *API) page(ctx context.Context, op, prefix, token string, limit int, match func(*state.Parameter) bool) ([]*state.Parameter, string, error) {
	after := ""
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		var t pageToken
		if err != nil || json.Unmarshal(b, &t) != nil || t.Op != op || !strings.HasPrefix(t.After, prefix) {
			return nil, "", badToken()
		}
		after = t.After
	}
	const batch = 256
	var kept []*state.Parameter
	last := ""
	for {
		items, _, err := state.List[state.Parameter](ctx, a.st, prefix, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			if !match(it.Val) {
				continue
			}
			if len(kept) == limit {
				b, _ := json.Marshal(pageToken{Op: op, After: last})
				return kept, base64.RawURLEncoding.EncodeToString(b), nil
			}
			kept, last = append(kept, it.Val), it.Key
		}
		if len(items) < batch {
			return kept, "", nil
		}
		after = items[len(items)-1].Key
	}
}
