package ecsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// RunTask's clientToken idempotency. The token's record is written in the
// same transaction as the tasks it created (on the condition that it is
// absent), so two requests racing with one token cannot both create tasks:
// the loser retries, finds the record and answers from it.

// runTaskToken remembers what a RunTask with a clientToken did.
type runTaskToken struct {
	// Hash identifies the request's parameters (everything but the token).
	Hash      string          `json:"hash"`
	TaskArns  []string        `json:"taskArns"`
	Failures  []model.Failure `json:"failures,omitempty"`
	CreatedAt *model.Time     `json:"createdAt,omitempty"`
}

func runTaskTokenKey(cluster, token string) string {
	return state.IdempotencyPrefix + "runtask/" + cluster + "/" + token
}

// runTaskHash fingerprints a request for comparing retries: the same token
// with the same parameters is a retry; with others it is a conflict.
func runTaskHash(cluster string, in *model.RunTaskRequest) string {
	cp := *in
	cp.ClientToken = ""
	cp.Cluster = cluster
	if cp.Count == nil {
		cp.Count = model.Ptr(int32(1))
	}
	b, _ := json.Marshal(cp) // request shapes always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replayRunTask answers a repeated RunTask from its token's record: the
// same tasks as they are now, or ConflictException if the parameters differ.
func (a *API) replayRunTask(ctx context.Context, cluster string, rec *runTaskToken, hash string) (*model.RunTaskResponse, error) {
	if rec.Hash != hash {
		e := awsproto.Errorf(codeConflict, "The clientToken is already in use by a RunTask request with different parameters. Retry with the original parameters, or use a new clientToken; resourceIds lists the tasks the token started.")
		e.ResourceIDs = rec.TaskArns
		return nil, e
	}
	out := &model.RunTaskResponse{Tasks: []model.Task{}, Failures: rec.Failures}
	for _, arn := range rec.TaskArns {
		_, id, err := parseTaskRef(arn)
		if err != nil {
			return nil, err
		}
		t, _, err := state.Get[state.Task](ctx, a.st, state.TaskKey(cluster, id))
		if isNotFound(err) {
			continue // removed after its retention period
		}
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, t.Task)
	}
	return out, nil
}
