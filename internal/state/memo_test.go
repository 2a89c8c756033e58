package state

import (
	"fmt"
	"testing"

	"github.com/wharf-ecs/wharf/internal/store"
)

func TestMemoSharesOneDecodingPerDocument(t *testing.T) {
	m := NewMemo[Task](2)
	doc := []byte(`{"taskArn":"arn:1","lastStatus":"RUNNING"}`)
	a, err := m.Decode(store.KV{Key: "tasks/c/1", Value: doc, Revision: 5})
	if err != nil || a.TaskArn != "arn:1" || a.LastStatus != "RUNNING" {
		t.Fatalf("Decode = %+v, %v; want the task", a, err)
	}
	if b, _ := m.Decode(store.KV{Key: "tasks/c/1", Value: append([]byte(nil), doc...), Revision: 5}); b != a {
		t.Error("the second reader of the same document decoded it again; want the first one's value")
	}
	// Other bytes under the same key are another document.
	other := []byte(`{"taskArn":"arn:1","lastStatus":"STOPPED"}`)
	if c, _ := m.Decode(store.KV{Key: "tasks/c/1", Value: other, Revision: 6}); c == a || c.LastStatus != "STOPPED" {
		t.Errorf("a changed document read as %+v; want its own decoding", c)
	}
	// What a writer remembers is what readers get, whatever the revision.
	mine := &Task{InstanceID: "written"}
	m.Remember("tasks/c/2", []byte(`{"wharfInstanceId":"written"}`), mine)
	if got, _ := m.Decode(store.KV{Key: "tasks/c/2", Value: []byte(`{"wharfInstanceId":"written"}`), Revision: 9}); got != mine {
		t.Errorf("Decode after Remember = %+v; want the remembered value", got)
	}
	if _, err := m.Decode(store.KV{Key: "tasks/c/3", Value: []byte(`{"lastStatus":`)}); err == nil {
		t.Error("an undecodable document decoded without error")
	}
}

func TestMemoHoldsItsSizeOnly(t *testing.T) {
	m := NewMemo[Task](3)
	for i := range 10 {
		if _, err := m.Decode(store.KV{Key: fmt.Sprintf("tasks/c/%d", i), Value: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.entries) != 3 {
		t.Errorf("memo of size 3 holds %d entries after 10 documents", len(m.entries))
	}
}
