package sdapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Operations: AWS applies namespace and instance changes asynchronously and
// hands back an OperationId to poll. Wharf applies them before answering, so
// the operation is recorded as SUCCESS in the same transaction as the change
// and clients that poll GetOperation see it done at once.

func (a *API) newOperation(typ string, targets map[string]string) *state.CloudMapOperation {
	now := a.timeNow()
	return &state.CloudMapOperation{ID: newOperationID(), Type: typ, Status: state.CloudMapOpSuccess,
		CreateDate: now, UpdateDate: now, Targets: targets}
}

func (a *API) GetOperation(ctx context.Context, in *getOperationInput) (*getOperationOutput, error) {
	if in.OperationId == "" || len(in.OperationId) > 255 {
		return nil, invalid("OperationId is required: the ID an operation such as RegisterInstance returned.")
	}
	if in.OwnerAccount != "" && in.OwnerAccount != a.account {
		return nil, awsproto.Errorf(codeOperationNotFound, "Operation %s not found in account %s: Wharf has one account, %s.", in.OperationId, in.OwnerAccount, a.account)
	}
	op, _, err := state.Get[state.CloudMapOperation](ctx, a.st, state.CloudMapOperationKey(in.OperationId))
	if isNotFound(err) {
		return nil, awsproto.Errorf(codeOperationNotFound, "Operation %s not found: it never existed, or finished more than %s ago and was forgotten.", in.OperationId, a.retention)
	}
	if err != nil {
		return nil, err
	}
	return &getOperationOutput{Operation: &operation{
		Id: op.ID, OwnerAccount: a.account, Type: op.Type, Status: op.Status,
		CreateDate: op.CreateDate, UpdateDate: op.UpdateDate, Targets: op.Targets,
	}}, nil
}

func opDate(o *state.CloudMapOperation) float64 {
	return float64(o.UpdateDate.UnixMilli()) / 1000
}

var operationFilters = map[string]filterField[state.CloudMapOperation]{
	"NAMESPACE_ID": {conds: []string{condEQ}, get: func(o *state.CloudMapOperation) string { return o.Targets["NAMESPACE"] }},
	"SERVICE_ID":   {conds: []string{condEQ}, get: func(o *state.CloudMapOperation) string { return o.Targets["SERVICE"] }},
	"STATUS":       {conds: []string{condEQ, condIN}, get: func(o *state.CloudMapOperation) string { return o.Status }},
	"TYPE":         {conds: []string{condEQ, condIN}, get: func(o *state.CloudMapOperation) string { return o.Type }},
	"UPDATE_DATE":  {conds: []string{condBetween}, number: opDate},
}

// ListOperations lists the operations still kept (see OperationRetention).
func (a *API) ListOperations(ctx context.Context, in *listInput) (*listOperationsOutput, error) {
	limit, err := pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	match, err := compileFilters(in.Filters, operationFilters)
	if err != nil {
		return nil, err
	}
	ops, next, err := scanPage(ctx, a.st, "ListOperations", state.CloudMapOperationsPrefix, in.NextToken, limit, match)
	if err != nil {
		return nil, err
	}
	out := &listOperationsOutput{NextToken: next, Operations: make([]operationSummary, 0, len(ops))}
	for _, o := range ops {
		out.Operations = append(out.Operations, operationSummary{Id: o.ID, Status: o.Status})
	}
	return out, nil
}

// pruneOperations deletes operation records older than the retention.
func (a *API) pruneOperations(ctx context.Context) {
	cutoff := a.now().Add(-a.retention)
	after := ""
	for ctx.Err() == nil {
		items, _, err := state.List[state.CloudMapOperation](ctx, a.st, state.CloudMapOperationsPrefix, store.ListOptions{After: after, Limit: 500})
		if err != nil {
			a.log.Warn("list operations to prune", "err", err)
			return
		}
		var txn store.Txn
		for _, it := range items {
			if it.Val.UpdateDate == nil || it.Val.UpdateDate.Before(cutoff) {
				txn.Conds = append(txn.Conds, store.Cond{Key: it.Key, Revision: it.Rev})
				txn.Ops = append(txn.Ops, state.Delete(it.Key))
			}
		}
		if len(txn.Ops) > 0 {
			if _, err := a.st.Commit(ctx, txn); err != nil && !store.IsConflict(err) {
				a.log.Warn("prune operations", "err", err)
				return
			}
		}
		if len(items) < 500 {
			return
		}
		after = items[len(items)-1].Key
	}
}
