package awsproto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// MaxBodyBytes bounds a request body. ECS's largest input, a task definition,
// is limited to 64 KiB; a megabyte leaves room for every operation.
const MaxBodyBytes = 1 << 20

// HandlerFunc handles one decoded request body and returns the output value.
type HandlerFunc func(ctx context.Context, body []byte) (any, error)

// Service dispatches the operations of one AWS JSON service by target.
type Service struct {
	TargetPrefix string
	// MaxBodyBytes bounds the service's request bodies when it needs more
	// than MaxBodyBytes (CloudWatch Logs: a megabyte of messages, JSON
	// escaped, with each event's own members); 0 means MaxBodyBytes.
	MaxBodyBytes int64
	known        map[string]bool // every operation of the model
	ops          map[string]HandlerFunc
}

// NewService returns a service for targets "<prefix>.<Operation>". known lists
// the model's operations, so that one Wharf does not implement yet gets a clear
// answer instead of UnknownOperationException.
func NewService(prefix string, known map[string]bool) *Service {
	return &Service{TargetPrefix: prefix, known: known, ops: map[string]HandlerFunc{}}
}

// Handle registers a typed handler for an operation. The input is decoded from
// the JSON body; a body that is not a JSON object or has a member of the wrong
// type is answered with SerializationException before fn runs.
func Handle[In, Out any](s *Service, op string, fn func(ctx context.Context, in *In) (*Out, error)) {
	s.ops[op] = func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := Decode(body, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		emptyNotNull(out)
		return out, nil
	}
}

// emptyNotNull turns the nil lists and maps of an output's top level into
// empty ones, so that they go on the wire as [] and {} — as AWS answers, and
// as clients print them — rather than as null.
func emptyNotNull(out any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return
	}
	v = v.Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.Slice:
			if f.IsNil() {
				f.Set(reflect.MakeSlice(f.Type(), 0, 0))
			}
		case reflect.Map:
			if f.IsNil() {
				f.Set(reflect.MakeMap(f.Type()))
			}
		}
	}
}

// Implemented reports whether op has a handler.
func (s *Service) Implemented(op string) bool { _, ok := s.ops[op]; return ok }

// Decode unmarshals a request body into v, answering malformed input with
// SerializationException. An empty body is an empty object.
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return Errorf(CodeSerialization, "The request body must be a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "(root)"
			}
			want := jsonKind(te.Type.Kind().String())
			if num, ok := strings.CutPrefix(te.Value, "number "); ok && want == "a number" {
				// The member is numeric but this number does not fit it.
				return Errorf(CodeSerialization, "Member %s must be %s; got %s.", field, numberRange(te.Type.Kind().String()), num)
			}
			return Errorf(CodeSerialization, "Member %s has the wrong type: got a JSON %s, want %s.", field, te.Value, want)
		case errors.As(err, &se):
			return Errorf(CodeSerialization, "The request body is not valid JSON (at byte %d): %v.", se.Offset, se)
		default:
			return Errorf(CodeSerialization, "The request body could not be read: %v.", err)
		}
	}
	return nil
}

func numberRange(goKind string) string {
	switch goKind {
	case "int32":
		return "a whole number from -2147483648 to 2147483647"
	case "int64", "int":
		return "a whole number that fits in 64 bits"
	}
	return "a finite number"
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "a list"
	case "map", "struct", "ptr":
		return "an object"
	case "int32", "int64", "int", "float64":
		return "a number"
	}
	return goKind
}

// Mux routes AWS JSON requests to services by target prefix.
type Mux struct {
	Log      *slog.Logger
	services map[string]*Service
	// Before, when set, runs before dispatch with the request's body, read
	// and bounded (authentication, authorization, rate limits); a non-nil
	// error is written as the answer and the operation does not run.
	Before func(r *http.Request, op Op, body []byte) (context.Context, error)
	// After, when set, is told of every answered call (audit, metrics).
	After func(ctx context.Context, op Op, err error, took time.Duration)
}

// Op names the operation a request asks for. Service is nil when the target's
// prefix is unknown (Name is then the whole target); Implemented tells
// whether the service has a handler for Name.
type Op struct {
	Service   *Service
	Name      string
	RequestID string
}

// NewMux returns an empty router.
func NewMux(log *slog.Logger) *Mux {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Mux{Log: log, services: map[string]*Service{}}
}

// Add registers a service.
func (m *Mux) Add(s *Service) { m.services[s.TargetPrefix] = s }

// Matches reports whether the request carries an AWS JSON target header.
func Matches(r *http.Request) bool { return r.Header.Get("X-Amz-Target") != "" }

type ctxKey struct{}

// OpFrom returns the operation of the request being served.
func OpFrom(ctx context.Context) (Op, bool) {
	op, ok := ctx.Value(ctxKey{}).(Op)
	return op, ok
}

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &Error{Code: "MethodNotAllowedException", Message: "AWS JSON requests use POST /.", Status: http.StatusMethodNotAllowed})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	prefix, name, _ := strings.Cut(target, ".")
	svc := m.services[prefix]
	var h HandlerFunc
	if svc != nil {
		h = svc.ops[name]
	}
	op := Op{Service: svc, Name: name, RequestID: reqID}
	if svc == nil {
		op.Name = target
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, op)
	r = r.WithContext(ctx)
	var out any
	limit := int64(MaxBodyBytes)
	if svc != nil && svc.MaxBodyBytes > 0 {
		limit = svc.MaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = Errorf(CodeSerialization, "The request body exceeds %d bytes.", limit)
		} else {
			err = Errorf(CodeSerialization, "The request body could not be read: %v.", err)
		}
	}
	if err == nil && m.Before != nil {
		// Authentication runs before anything else is answered (so an
		// unsigned caller learns nothing, not even which targets exist)
		// and needs the body, whose hash is signed. It is handed the op
		// even when the target is unknown (Service nil) or unimplemented.
		var c context.Context
		c, err = m.Before(r, op, body)
		if c != nil {
			ctx = c
		}
	}
	if err == nil && h == nil {
		switch {
		case svc == nil || name == "":
			err = Errorf(CodeUnknownOperation, "Unknown operation %q: X-Amz-Target must be <service prefix>.<Operation>.", target)
		case svc.known[name]:
			err = Errorf("UnsupportedFeatureException", "Wharf does not implement %s yet.", name)
		default:
			err = Errorf(CodeUnknownOperation, "Unknown operation %s.", name)
		}
	}
	if err == nil {
		err = checkBody(body)
	}
	if err == nil {
		out, err = m.call(ctx, h, body)
	}
	if m.After != nil {
		m.After(ctx, op, err, time.Since(start))
	}
	if err != nil {
		e, ok := AsError(err)
		if !ok && r.Context().Err() != nil {
			// The client went away (an agent stopping mid-poll): nobody reads
			// this answer, and it is no server fault.
			m.Log.Debug("request abandoned by the client", "op", name, "request_id", reqID)
			return
		}
		if !ok {
			m.Log.Error("operation failed", "op", name, "request_id", reqID, "err", err)
			e = &Error{Code: CodeServer, Message: "Internal error; the request ID is " + reqID + ". The server log has the details.", Status: http.StatusInternalServerError}
		}
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// call runs a handler, turning a panic into a ServerException rather than a
// dropped connection; a panic is always a bug and is logged with its value.
func (m *Mux) call(ctx context.Context, h HandlerFunc, body []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			op, _ := OpFrom(ctx)
			m.Log.Error("operation panicked", "op", op.Name, "request_id", op.RequestID, "panic", fmt.Sprint(p))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return h(ctx, body)
}

func writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	writeJSON(w, status, errorBody{Type: e.Code, Message: e.Message, ResourceIDs: e.ResourceIDs})
}

// RawJSON is an operation output that is already encoded: the handler
// vouches that it is one valid JSON object, and it is written unchanged.
// json.Marshal would re-validate it byte by byte, which costs as much as
// the encoding it avoids on large answers (DescribeTasks of 100 tasks).
type RawJSON []byte

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	if raw, ok := v.(*RawJSON); ok && raw != nil {
		b = *raw
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"ServerException","message":"The response could not be encoded."}`)
	}
	if string(b) == "null" {
		b = []byte("{}")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// OperationSet turns a whitespace-separated list of a model's operation
// names into the set NewService takes as known.
func OperationSet(names string) map[string]bool {
	m := map[string]bool{}
	for _, op := range strings.Fields(names) {
		m[op] = true
	}
	return m
}
