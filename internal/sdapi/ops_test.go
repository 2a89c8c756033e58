package sdapi

import (
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
)

// TestOperationsMatchSDK keeps the known operations equal to the official
// client's, so that an operation Wharf lacks is answered as unsupported
// rather than unknown.
func TestOperationsMatchSDK(t *testing.T) {
	typ := reflect.TypeOf(&servicediscovery.Client{})
	var sdk []string
	for i := 0; i < typ.NumMethod(); i++ {
		if name := typ.Method(i).Name; name != "Options" {
			sdk = append(sdk, name)
		}
	}
	var ours []string
	for op := range operations {
		ours = append(ours, op)
	}
	slices.Sort(sdk)
	slices.Sort(ours)
	if !slices.Equal(sdk, ours) {
		t.Fatalf("operations = %v\nthe SDK client has %v", ours, sdk)
	}
}
