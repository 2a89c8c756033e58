package model

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTimeWireForm(t *testing.T) {
	tm := NewTime(time.Date(2023, 11, 14, 22, 13, 20, 189_600_000, time.UTC))
	b, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "1700000000.189"; got != want {
		t.Fatalf("Marshal = %s; want %s (epoch seconds, millisecond fraction)", got, want)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(tm.Time) {
		t.Fatalf("round trip = %v; want %v", back.Time, tm.Time)
	}
}

func TestTimeUnmarshalForms(t *testing.T) {
	want := time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC)
	for _, in := range []string{`1529360908`, `1529360908.0`, `"1529360908"`, `"2018-06-18T22:28:28Z"`, `"2018-06-18T23:28:28+01:00"`} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("Unmarshal(%s) = %v; want %v", in, got.Time, want)
		}
	}
	for _, in := range []string{`"yesterday"`, `true`, `1e300`, `"NaN"`} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %v; want an error", in, got.Time)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	orig := &Task{Containers: []Container{{Name: "a", ExitCode: Ptr(int32(1))}}, Tags: []Tag{{Key: "k"}}}
	c := Clone(orig)
	*c.Containers[0].ExitCode = 9
	c.Tags[0].Key = "changed"
	if *orig.Containers[0].ExitCode != 1 || orig.Tags[0].Key != "k" {
		t.Fatalf("Clone shares memory with the original: %+v", orig)
	}
}

func TestEnumValid(t *testing.T) {
	if !LaunchTypeFargate.Valid() || LaunchType("fargate").Valid() {
		t.Fatal("enum Valid does not match the model's values exactly")
	}
	if got := strings.Join(toStrings(NetworkMode("").Values()), ","); got != "bridge,host,awsvpc,none" {
		t.Fatalf("NetworkMode values = %s", got)
	}
}

func toStrings(v []NetworkMode) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}
