package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// Every read and action of the console is an AWS JSON call served in process
// by the server's own API handler, signed with the signed-in user's access
// key. The call therefore passes the same gate as one from the aws CLI:
// signature, rate limits, and the user's policies evaluated on the resources
// the request names; mutating calls get their audit line. Nothing about who
// may do what is decided a second time here.

// Target prefixes of the services the console calls, with their signing
// names.
const (
	ecsTarget  = model.TargetPrefix
	logsTarget = "Logs_20140328"
)

var signingNames = map[string]string{ecsTarget: "ecs", logsTarget: "logs", agentproto.AdminTargetPrefix: "ecs"}

var signer = v4.NewSigner()

// caller makes API calls for one console request.
type caller struct {
	c    *Console
	ctx  context.Context
	from *http.Request // the browser's request: its address, for rate limits
	key  string        // access key ID; "" when authentication is off
}

// call performs target's operation op with in as its input and decodes the
// answer into out. A refusal or failure comes back as an *awsproto.Error
// carrying the API's code and message.
func (k caller) call(prefix, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s input: %w", op, err)
	}
	req, err := http.NewRequestWithContext(k.ctx, http.MethodPost, "http://"+k.host()+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.RemoteAddr = k.from.RemoteAddr
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", prefix+"."+op)
	req.Header.Set("User-Agent", "wharf-console")
	if k.key != "" {
		secret, _, ok := k.c.creds.Lookup(k.key)
		if !ok {
			return errSignedOut
		}
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: k.key, SecretAccessKey: secret}
		if err := signer.SignHTTP(k.ctx, creds, req, hex.EncodeToString(sum[:]), signingNames[prefix], k.c.region, time.Now()); err != nil {
			return fmt.Errorf("sign %s: %w", op, err)
		}
	}
	w := &recorder{header: http.Header{}}
	k.c.api.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status != http.StatusOK {
		return answerError(w)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(w.body.Bytes(), out); err != nil {
		return fmt.Errorf("decode %s answer: %w", op, err)
	}
	return nil
}

// ecs calls an ECS operation.
func (k caller) ecs(op string, in, out any) error { return k.call(ecsTarget, op, in, out) }

func (k caller) host() string {
	if h := k.from.Host; h != "" {
		return h
	}
	return "localhost"
}

// errSignedOut is the answer to a session whose access key no longer exists.
var errSignedOut = &awsproto.Error{Code: "UnrecognizedClientException", Status: http.StatusForbidden,
	Message: "The access key of this session is no longer known to the server; sign in again."}

// answerError turns an API error answer into an *awsproto.Error.
func answerError(w *recorder) error {
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(w.body.Bytes(), &e)
	code := e.Type
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = w.header.Get("X-Amzn-ErrorType")
	}
	if code == "" {
		code = "HTTP" + strconv.Itoa(w.status)
	}
	return &awsproto.Error{Code: code, Message: e.Message, Status: w.status}
}

// recorder is the in-memory ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
