package ecsapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// FuzzRegisterTaskDefinition feeds arbitrary bodies through the request
// decoding and the registration's validation: whatever comes in, the answer
// is either a 400 API error with a message or a definition that holds
// together, never a panic. Seeds are in testdata/fuzz/FuzzRegisterTaskDefinition.
func FuzzRegisterTaskDefinition(f *testing.F) {
	f.Add([]byte(`{"family":"web","containerDefinitions":[{"name":"app","image":"busybox","memory":64}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in model.RegisterTaskDefinitionRequest
		if err := awsproto.Decode(body, &in); err != nil {
			if _, ok := awsproto.AsError(err); !ok {
				t.Fatalf("Decode returned a plain error: %v", err)
			}
			return
		}
		requiresFargate := slices.Contains(in.RequiresCompatibilities, model.CompatibilityFargate)
		td, err := buildTaskDefinition(&in)
		if err != nil {
			e, ok := awsproto.AsError(err)
			if !ok || e.Status != http.StatusBadRequest || e.Message == "" {
				t.Fatalf("validation returned %#v; want a 400 API error with a message", err)
			}
			return
		}
		if td.Family == "" || len(td.ContainerDefinitions) == 0 || len(td.ContainerDefinitions) > tdMaxContainers {
			t.Fatalf("accepted a definition without a family or with %d containers", len(td.ContainerDefinitions))
		}
		if !slices.Contains(td.Compatibilities, model.CompatibilityEc2) {
			t.Fatalf("compatibilities %v lack EC2", td.Compatibilities)
		}
		if requiresFargate && !slices.Contains(td.Compatibilities, model.CompatibilityFargate) {
			t.Fatalf("requires FARGATE but compatibilities are %v", td.Compatibilities)
		}
		for _, c := range td.ContainerDefinitions {
			if c.Essential == nil || c.Cpu == nil || c.Image == "" {
				t.Fatalf("container %q lacks the filled-in essential, cpu or an image", c.Name)
			}
		}
		if _, err := json.Marshal(td); err != nil {
			t.Fatalf("accepted definition does not encode: %v", err)
		}
	})
}
