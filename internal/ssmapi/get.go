package ssmapi

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// maxNames bounds GetParameters and DeleteParameters, as in SSM.
const maxNames = 10

// GetParameter returns one parameter: its latest version, or the version a
// "name:version" selector names.
func (a *API) GetParameter(ctx context.Context, in *getParameterInput) (*getParameterOutput, error) {
	r, err := a.parseRef(in.Name)
	if err != nil {
		return nil, err
	}
	p, err := a.find(ctx, r)
	if err != nil {
		return nil, err
	}
	out, err := a.toWire(p, model.Val(in.WithDecryption), r.Selector)
	if err != nil {
		return nil, err
	}
	return &getParameterOutput{Parameter: &out}, nil
}

// GetParameters returns up to ten parameters in name order; names that are
// malformed or do not exist are listed in InvalidParameters as given.
func (a *API) GetParameters(ctx context.Context, in *getParametersInput) (*getParametersOutput, error) {
	if len(in.Names) < 1 || len(in.Names) > maxNames {
		return nil, validation("Names must list 1 to %d parameter names; got %d.", maxNames, len(in.Names))
	}
	out := &getParametersOutput{}
	seen := map[string]bool{}
	for _, n := range in.Names {
		if seen[n] {
			continue
		}
		seen[n] = true
		r, err := a.parseRef(n)
		var p *state.Parameter
		if err == nil {
			p, err = a.find(ctx, r)
		}
		if isClientErr(err) {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		if err != nil {
			return nil, err
		}
		w, err := a.toWire(p, model.Val(in.WithDecryption), r.Selector)
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, w)
	}
	slices.SortFunc(out.Parameters, func(x, y parameter) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// find reads the version of a parameter a reference names.
func (a *API) find(ctx context.Context, r ref) (*state.Parameter, error) {
	p, err := a.latest(ctx, r.Name)
	if isNotFound(err) && r.fromARN && !strings.HasPrefix(r.Name, "/") {
		// "parameter/a" is the ARN of both "a" and "/a".
		p, err = a.latest(ctx, "/"+r.Name)
	}
	if isNotFound(err) {
		return nil, notFound(r.Name)
	}
	if err != nil || r.Version == 0 || r.Version == p.Version {
		return p, err
	}
	v, _, err := state.Get[state.Parameter](ctx, a.st, state.ParameterVersionKey(p.Name, r.Version))
	if isNotFound(err) {
		return nil, awsproto.Errorf(codeParameterVersionNotFound, "Parameter %s has no version %d: its latest version is %d, and the last %d versions are kept.", p.Name, r.Version, p.Version, maxVersions)
	}
	return v, err
}

func (a *API) latest(ctx context.Context, name string) (*state.Parameter, error) {
	p, _, err := state.Get[state.Parameter](ctx, a.st, state.ParameterKey(name))
	return p, err
}

// value returns a parameter's value: in clear for String and StringList and
// for a SecureString when decrypt is set, else the sealed bytes in base64, as
// SSM returns a SecureString's ciphertext.
func (a *API) value(p *state.Parameter, decrypt bool) (string, error) {
	if p.Type != typeSecureString {
		return p.Value, nil
	}
	if !decrypt {
		return base64.StdEncoding.EncodeToString(p.Sealed), nil
	}
	if a.kr == nil {
		return "", internal("This server has no master key, so it cannot decrypt SecureString parameters.")
	}
	b, err := a.kr.Open(p.Sealed, sealAAD(p.Name))
	if err != nil {
		a.log.Error("SecureString parameter does not open with the master key", "parameter", p.Name, "version", p.Version)
		return "", internal("SecureString parameter " + p.Name + " cannot be decrypted with this server's master key (was the key file replaced?).")
	}
	return string(b), nil
}

func (a *API) toWire(p *state.Parameter, decrypt bool, selector string) (parameter, error) {
	v, err := a.value(p, decrypt)
	if err != nil {
		return parameter{}, err
	}
	return parameter{
		Name: p.Name, Type: p.Type, Value: v, Version: p.Version, Selector: selector,
		LastModifiedDate: p.LastModifiedDate, ARN: a.arn(p.Name), DataType: p.DataType,
	}, nil
}

// DeleteParameter deletes a parameter and every version of it.
func (a *API) DeleteParameter(ctx context.Context, in *deleteParameterInput) (*deleteParameterOutput, error) {
	name, err := deletable(in.Name)
	if err != nil {
		return nil, err
	}
	if err := a.remove(ctx, name); err != nil {
		return nil, err
	}
	return &deleteParameterOutput{}, nil
}

// DeleteParameters deletes up to ten parameters; the names that are
// malformed or do not exist come back in InvalidParameters.
func (a *API) DeleteParameters(ctx context.Context, in *deleteParametersInput) (*deleteParametersOutput, error) {
	if len(in.Names) < 1 || len(in.Names) > maxNames {
		return nil, validation("Names must list 1 to %d parameter names; got %d.", maxNames, len(in.Names))
	}
	out := &deleteParametersOutput{}
	for _, n := range in.Names {
		name, err := deletable(n)
		if err == nil {
			err = a.remove(ctx, name)
		}
		if isClientErr(err) {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		if err != nil {
			return nil, err
		}
		out.DeletedParameters = append(out.DeletedParameters, n)
	}
	return out, nil
}

// deletable validates a name given to a delete, which takes no ARN.
func deletable(name string) (string, error) {
	name = strings.Trim(name, " ")
	if strings.HasPrefix(name, "arn:") {
		return "", validation("Deletes take the parameter's name, not its ARN: pass %q's resource name (after \"parameter\").", name)
	}
	return name, checkShape(name, "name")
}

// remove deletes a parameter's document and its versions in one transaction.
func (a *API) remove(ctx context.Context, name string) error {
	for attempt := 0; ; attempt++ {
		kv, err := a.st.Get(ctx, state.ParameterKey(name))
		if isNotFound(err) {
			return notFound(name)
		}
		if err != nil {
			return err
		}
		versions, _, err := a.st.List(ctx, state.ParameterVersionsOf(name), store.ListOptions{})
		if err != nil {
			return err
		}
		txn := store.Txn{
			Conds: []store.Cond{{Key: kv.Key, Revision: kv.Revision}},
			Ops:   []store.Op{state.Delete(kv.Key)},
		}
		for _, v := range versions {
			txn.Ops = append(txn.Ops, state.Delete(v.Key))
		}
		_, err = a.st.Commit(ctx, txn)
		if store.IsConflict(err) && attempt < maxAttempts {
			continue
		}
		return err
	}
}
