package state

import (
	"fmt"
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
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

func TestInstancesShareEqualAttributeLists(t *testing.T) {
	doc := func(id, zone string, running int) []byte {
		return fmt.Appendf(nil, `{"wharfId":%q,"runningTasksCount":%d,"attributes":[{"name":"ecs.os-type","value":"linux"},{"name":"ecs.availability-zone","value":%q}]}`, id, running, zone)
	}
	a, err := Instances.Decode(store.KV{Key: "instances/c/a", Value: doc("a", "z1", 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Instances.Decode(store.KV{Key: "instances/c/b", Value: doc("b", "z1", 7)})
	if &a.Attributes[0] != &b.Attributes[0] {
		t.Error("two instances with equal attributes hold two lists; want one shared")
	}
	if len(b.Attributes) != 2 || b.Attributes[1].Value != "z1" || *b.RunningTasksCount != 7 || b.ID != "b" {
		t.Errorf("decoded %+v; want instance b with its own counts and the zone z1", b)
	}
	c, _ := Instances.Decode(store.KV{Key: "instances/c/c", Value: doc("c", "z2", 1)})
	if &c.Attributes[0] == &a.Attributes[0] || c.Attributes[1].Value != "z2" {
		t.Errorf("an instance in another zone got attributes %+v; want its own", c.Attributes)
	}
	// A writer's value is shared too, and keeps what it holds.
	w := &ContainerInstance{ContainerInstance: model.ContainerInstance{Attributes: []model.Attribute{{Name: "ecs.os-type", Value: "linux"}, {Name: "ecs.availability-zone", Value: "z2"}}}}
	Instances.Remember("instances/c/w", []byte(`{"w":1}`), w)
	if &w.Attributes[0] != &c.Attributes[0] {
		t.Error("a remembered instance kept its own equal attribute list; want the shared one")
	}
}
