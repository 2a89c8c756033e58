package ecsapi

import (
	"fmt"
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
)

func TestSplitStrategy(t *testing.T) {
	item := func(name string, base, weight int32) model.CapacityProviderStrategyItem {
		return model.CapacityProviderStrategyItem{CapacityProvider: name, Base: model.Ptr(base), Weight: model.Ptr(weight)}
	}
	for _, tc := range []struct {
		items []model.CapacityProviderStrategyItem
		count int
		have  map[string]int
		want  string
	}{
		{[]model.CapacityProviderStrategyItem{item("a", 0, 0)}, 3, nil, "[{a 3}]"},
		{[]model.CapacityProviderStrategyItem{item("a", 2, 1), item("b", 0, 1)}, 6, nil, "[{a 4} {b 2}]"},
		{[]model.CapacityProviderStrategyItem{item("a", 1, 1), item("b", 0, 3)}, 5, nil, "[{a 2} {b 3}]"},
		{[]model.CapacityProviderStrategyItem{item("a", 0, 1), item("b", 0, 4)}, 10, nil, "[{a 2} {b 8}]"},
		{[]model.CapacityProviderStrategyItem{item("a", 0, 1), item("b", 0, 1)}, 2, map[string]int{"a": 3, "b": 1}, "[{b 2}]"},
		{[]model.CapacityProviderStrategyItem{item("a", 5, 1), item("b", 0, 1)}, 2, nil, "[{a 2}]"},
		{[]model.CapacityProviderStrategyItem{item("a", 0, 0), item("b", 0, 1)}, 3, nil, "[{b 3}]"},
	} {
		got := fmt.Sprint(splitStrategy(tc.items, tc.count, tc.have))
		if got != tc.want {
			t.Errorf("splitStrategy(%v, %d, %v) = %s; want %s", tc.items, tc.count, tc.have, got, tc.want)
		}
	}
}
