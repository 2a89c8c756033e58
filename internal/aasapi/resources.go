package aasapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// Resources returns the scalable target ARN a request names, for IAM-style
// policies (the request gate's Rules.Resources), as Application Auto Scaling
// authorizes its actions on the resource type scalable-target: the target
// of Register (once registered), Deregister, Put and Delete operations, and
// the ResourceARN of the tag operations. The Describe operations, and a
// target not registered yet, are authorized against "*".
func (a *API) Resources(op string, body []byte) ([]string, error) {
	var in struct {
		targetRef
		ResourceARN string `json:"ResourceARN"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil, nil
	}
	switch op {
	case "TagResource", "UntagResource", "ListTagsForResource":
		if in.ResourceARN != "" {
			return []string{in.ResourceARN}, nil
		}
	case "RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy",
		"PutScheduledAction", "DeleteScheduledAction":
		ref, err := in.check()
		if err != nil {
			return nil, nil // the operation refuses it
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if t, _, err := state.Get[state.ScalableTarget](ctx, a.st, state.ScalableTargetKey(ref)); err == nil {
			return []string{t.ScalableTargetARN}, nil
		}
	}
	return nil, nil
}
