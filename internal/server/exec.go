package server

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/execproto"
)

// The relay of `wharf exec` sessions (ecsapi/exec.go opens them). The
// caller and the task's agent each POST to the session's stream path,
// signed as for the API, and the request upgrades to a raw stream; once
// both ends are there the server copies bytes between them until either
// closes. Only the caller who opened the session, and the agent of the
// task's instance, may attach; root and, with authentication off, anyone
// may.

// execPairWait is how long the first end of a session waits for the other.
const execPairWait = time.Minute

func init() {
	register("exec relay", func(x *Setup) error {
		relay := &execRelay{waiting: map[string]*execEnd{}}
		x.HTTP.Handle("POST "+execproto.Path+"{cluster}/{task}/{session}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			relay.serve(x, w, r)
		}))
		return nil
	})
}

type execRelay struct {
	mu      sync.Mutex
	waiting map[string]*execEnd // session → the end waiting for its peer
}

type execEnd struct {
	role   string
	conn   io.ReadWriteCloser
	paired chan struct{}
}

func (e *execRelay) serve(x *Setup, w http.ResponseWriter, r *http.Request) {
	role := r.URL.Query().Get("role")
	if role != execproto.RoleClient && role != execproto.RoleAgent {
		writeAWSError(w, &awsproto.Error{Code: "InvalidParameterException", Message: "role must be client or agent.", Status: http.StatusBadRequest})
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), execproto.Upgrade) {
		writeAWSError(w, &awsproto.Error{Code: "InvalidParameterException", Message: "An exec stream must ask for Upgrade: " + execproto.Upgrade + ".", Status: http.StatusBadRequest})
		return
	}
	ctx, err := x.Gate.Check(r, agentproto.AdminTargetPrefix, "AttachExecSession", false, nil)
	if err != nil {
		writeAWSError(w, err)
		return
	}
	t, sess, err := x.Server.API().ExecSessionOf(ctx, r.PathValue("cluster"), r.PathValue("task"), r.PathValue("session"))
	if err != nil {
		writeAWSError(w, err)
		return
	}
	if p := auth.PrincipalFrom(ctx); p != nil && p.Kind != auth.Root && p.Kind != auth.Anonymous {
		allowed := role == execproto.RoleClient && p.Kind != auth.Agent && p.AccessKeyID == sess.AccessKeyID ||
			role == execproto.RoleAgent && p.Kind == auth.Agent && p.InstanceID == t.InstanceID
		if !allowed {
			writeAWSError(w, auth.AccessDenied("Only the caller who started exec session "+sess.ID+", and the agent of its task's instance, may attach to it."))
			return
		}
	}
	conn, err := execproto.Hijack(w)
	if err != nil {
		x.Server.log.Warn("exec stream: upgrade failed", "err", err)
		return
	}
	x.Server.log.Info("exec stream attached", "task", t.TaskArn, "container", sess.Container, "session", sess.ID, "role", role)
	e.pair(sess.ID, &execEnd{role: role, conn: conn, paired: make(chan struct{})})
}

// pair joins end with its peer, or waits for the peer to join it.
func (e *execRelay) pair(session string, end *execEnd) {
	e.mu.Lock()
	peer := e.waiting[session]
	switch {
	case peer == nil:
		e.waiting[session] = end
		e.mu.Unlock()
		select {
		case <-end.paired:
		case <-time.After(execPairWait):
			e.mu.Lock()
			if e.waiting[session] == end {
				delete(e.waiting, session)
				e.mu.Unlock()
				_ = execproto.WriteFrame(end.conn, execproto.Failed, []byte("the other end of the exec session never came"))
				end.conn.Close()
				return
			}
			e.mu.Unlock()
			<-end.paired
		}
		return
	case peer.role == end.role:
		e.mu.Unlock()
		end.conn.Close() // a second end of the same side
		return
	}
	delete(e.waiting, session)
	e.mu.Unlock()
	close(peer.paired)
	done := make(chan struct{}, 2)
	cp := func(dst, src io.ReadWriteCloser) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(end.conn, peer.conn)
	go cp(peer.conn, end.conn)
	<-done
	end.conn.Close()
	peer.conn.Close()
	<-done
}
