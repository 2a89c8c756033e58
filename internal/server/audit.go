package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// auditor writes one line for every call that may change something: who,
// what, when and with what result. Reads (Describe*, List*, Get*,
// FilterLogEvents, ExplainPlacement, ...) and the agent's poll are not
// audited.
type auditor struct {
	mu  sync.Mutex
	w   io.Writer // nil: log
	log *slog.Logger
}

func newAuditor(w io.Writer, log *slog.Logger) *auditor { return &auditor{w: w, log: log} }

// auditRecord is one audit line.
type auditRecord struct {
	Time        time.Time `json:"time"`
	Principal   string    `json:"principal"`
	Kind        string    `json:"kind"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	Operation   string    `json:"operation"`
	RequestID   string    `json:"requestId"`
	Result      string    `json:"result"` // "ok" or the error code
	Millis      int64     `json:"ms"`
}

func mutating(op string) bool {
	// Calls served outside the Mux name their service: "service.Operation".
	op = op[strings.LastIndexByte(op, '.')+1:]
	for _, p := range []string{"Describe", "List", "Get", "Discover", "Poll", "Filter", "Explain"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

func (a *auditor) record(ctx context.Context, op awsproto.Op, err error, took time.Duration) {
	if !mutating(op.Name) {
		return
	}
	rec := auditRecord{Time: time.Now().UTC(), Principal: "unauthenticated", Kind: "none",
		RequestID: op.RequestID, Result: "ok", Millis: took.Milliseconds()}
	rec.Operation = op.Name
	if op.Service != nil {
		rec.Operation = op.Service.TargetPrefix + "." + op.Name
	}
	if p := auth.PrincipalFrom(ctx); p != nil {
		rec.Principal, rec.Kind, rec.AccessKeyID = p.Name, p.Kind.String(), p.AccessKeyID
	}
	if err != nil {
		rec.Result = "ServerException"
		if e, ok := awsproto.AsError(err); ok {
			rec.Result = e.Code
		}
	}
	if a.w == nil {
		a.log.Info("audit", "principal", rec.Principal, "kind", rec.Kind, "access_key", rec.AccessKeyID,
			"operation", rec.Operation, "request_id", rec.RequestID, "result", rec.Result, "ms", rec.Millis)
		return
	}
	b, _ := json.Marshal(rec)
	a.mu.Lock()
	_, _ = a.w.Write(append(b, '\n'))
	a.mu.Unlock()
}
