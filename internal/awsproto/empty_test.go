package awsproto

import (
	"encoding/json"
	"testing"
)

func TestEmptyNotNull(t *testing.T) {
	type out struct {
		Name  string            `json:"name,omitempty"`
		Count *int32            `json:"count,omitempty"`
		Arns  []string          `json:"arns"`
		Tags  map[string]string `json:"tags"`
		Kept  []int             `json:"kept"`
		inner []string
	}
	v := &out{Kept: []int{1}}
	emptyNotNull(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"arns":[],"tags":{},"kept":[1]}`; got != want {
		t.Fatalf("after emptyNotNull = %s; want %s", got, want)
	}
	emptyNotNull(nil)         // no panic
	emptyNotNull((*out)(nil)) // no panic
	emptyNotNull(&struct{}{}) // no panic
}
