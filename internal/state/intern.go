package state

import (
	"hash/maphash"
	"slices"
	"sync"
	"unique"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Intern returns s as one shared copy of its bytes. Followers that keep a
// few strings of every task (its instance, group, status) hold a million of
// them at scale; interned, a fleet's ten thousand instance IDs and handful of
// groups and statuses are each stored once.
func Intern(s string) string { return unique.Make(s).Value() }

// attrSets shares the attribute lists of decoded container instances: the
// agents of a fleet register the same few dozen capability attributes, and
// every rewrite of an instance document (each placement, each task report)
// decoded them anew, about 6 KB an instance kept by every cache.
var attrSets = struct {
	sync.Mutex
	m map[uint64][]model.Attribute
}{m: map[uint64][]model.Attribute{}}

// maxAttrSets bounds the table; past it, it starts over (lists handed out
// stay valid: they are only no longer shared with later decodings).
const maxAttrSets = 4096

// shareAttributes replaces inst's attribute list with an equal one decoded
// before, if there is one. Lists are shared read-only, like memo values.
func shareAttributes(inst *ContainerInstance) {
	if len(inst.Attributes) == 0 {
		return
	}
	var h maphash.Hash
	h.SetSeed(memoSeed)
	for _, a := range inst.Attributes {
		h.WriteString(a.Name)
		h.WriteByte(0)
		h.WriteString(a.Value)
		h.WriteByte(0)
		h.WriteString(a.TargetId)
		h.WriteByte(0)
		h.WriteString(string(a.TargetType))
		h.WriteByte(1)
	}
	sum := h.Sum64()
	attrSets.Lock()
	defer attrSets.Unlock()
	if have, ok := attrSets.m[sum]; ok && slices.Equal(have, inst.Attributes) {
		inst.Attributes = have
		return
	}
	if len(attrSets.m) >= maxAttrSets {
		clear(attrSets.m)
	}
	// A copy: the list given may be shared with a value others read.
	attrs := make([]model.Attribute, len(inst.Attributes))
	for i, a := range inst.Attributes {
		a.Name, a.Value = Intern(a.Name), Intern(a.Value)
		attrs[i] = a
	}
	inst.Attributes = attrs
	attrSets.m[sum] = attrs
}
