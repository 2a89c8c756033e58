package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

const (
	taskArn = "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"
	instArn = "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ffff"
)

func TestBuildSpecTranslatesContainerDefinition(t *testing.T) {
	def := model.TaskDefinition{
		Family: "web", Revision: model.Ptr(int32(7)),
		Volumes: []model.Volume{
			{Name: "logs", Host: &model.HostVolumeProperties{SourcePath: "/var/log/web"}},
			{Name: "scratch"},
			{Name: "cache", DockerVolumeConfiguration: &model.DockerVolumeConfiguration{Scope: model.ScopeShared}},
		},
	}
	cd := model.ContainerDefinition{
		Name: "app", Image: "wharf-testapp:latest",
		EntryPoint: []string{"/testapp"}, Command: []string{"-port", "80"},
		Environment:      []model.KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
		WorkingDirectory: "/srv", User: "1000", Hostname: "app-host",
		Cpu: model.Ptr(int32(256)), Memory: model.Ptr(int32(128)), MemoryReservation: model.Ptr(int32(64)),
		PortMappings: []model.PortMapping{{ContainerPort: model.Ptr(int32(80))}, {ContainerPort: model.Ptr(int32(53)), HostPort: model.Ptr(int32(5353)), Protocol: "udp"}},
		Links:        []string{"db:database", "cache"},
		Ulimits:      []model.Ulimit{{Name: "nofile", SoftLimit: model.Ptr(int32(1024)), HardLimit: model.Ptr(int32(4096))}},
		MountPoints: []model.MountPoint{
			{SourceVolume: "logs", ContainerPath: "/logs", ReadOnly: model.Ptr(true)},
			{SourceVolume: "scratch", ContainerPath: "/tmp/s"},
			{SourceVolume: "cache", ContainerPath: "/cache"},
		},
		VolumesFrom:            []model.VolumeFrom{{SourceContainer: "sidecar", ReadOnly: model.Ptr(true)}},
		ReadonlyRootFilesystem: model.Ptr(true), Privileged: model.Ptr(true),
		DockerLabels: map[string]string{"team": "blue"},
		HealthCheck: &model.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: model.Ptr(int32(10)),
			Timeout: model.Ptr(int32(3)), Retries: model.Ptr(int32(2)), StartPeriod: model.Ptr(int32(5))},
		StopTimeout:      model.Ptr(int32(7)),
		LogConfiguration: &model.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}},
	}
	task := model.Task{TaskArn: taskArn, ClusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
		Overrides: &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{
			Name: "app", Environment: []model.KeyValuePair{{Name: "B", Value: "override"}}, Memory: model.Ptr(int32(256)),
		}}}}

	s, err := buildSpec(&task, &def, &cd, instArn)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "wharf-0123456789abcdef0123456789abcdef-"
	checks := []struct {
		what      string
		got, want any
	}{
		{"Name", s.Name, prefix + "app"},
		{"Entrypoint", s.Entrypoint, []string{"/testapp"}},
		{"Command", s.Command, []string{"-port", "80"}},
		{"Env (override wins)", s.Env, map[string]string{"A": "1", "B": "override"}},
		{"WorkingDir/User/Hostname", []string{s.WorkingDir, s.User, s.Hostname}, []string{"/srv", "1000", "app-host"}},
		{"CPU", s.CPU, int64(256)},
		{"MemoryMiB (override)", s.MemoryMiB, int64(256)},
		{"MemoryReservationMiB", s.MemoryReservationMiB, int64(64)},
		{"NetworkMode", s.NetworkMode, "bridge"},
		{"PortMappings", s.PortMappings, []runtime.PortMapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}}},
		{"Links", s.Links, []string{prefix + "db:database", prefix + "cache:cache"}},
		{"Ulimits", s.Ulimits, []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}}},
		{"Mounts", s.Mounts, []runtime.Mount{
			{Type: runtime.MountBind, Source: "/var/log/web", Target: "/logs", ReadOnly: true},
			{Type: runtime.MountVolume, Source: prefix + "scratch", Target: "/tmp/s"},
			{Type: runtime.MountVolume, Source: "cache", Target: "/cache"},
		}},
		{"VolumesFrom", s.VolumesFrom, []runtime.VolumeFrom{{Container: prefix + "sidecar", ReadOnly: true}}},
		{"ReadonlyRootfs/Privileged", []bool{s.ReadonlyRootfs, s.Privileged}, []bool{true, true}},
		{"HealthCheck", *s.HealthCheck, runtime.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: 10 * time.Second, Timeout: 3 * time.Second, Retries: 2, StartPeriod: 5 * time.Second}},
		{"StopTimeout", s.StopTimeout, 7 * time.Second},
		{"LogConfig (awslogs kept locally)", *s.LogConfig, runtime.LogConfig{Driver: "json-file"}},
		{"label team", s.Labels["team"], "blue"},
		{"awslogs labels", []string{s.Labels[labelLogGroup], s.Labels[labelAwslogs]}, []string{"g", "true"}},
		{"label task", s.Labels[labelTaskArn], taskArn},
		{"label container", s.Labels[labelContainerName], "app"},
		{"label cluster", s.Labels[labelCluster], "prod"},
		{"label instance", s.Labels[labelInstance], instArn},
		{"label revision", s.Labels[labelRevision], "7"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.what, c.got, c.want)
		}
	}
}

func TestBuildSpecNetworkModes(t *testing.T) {
	cd := model.ContainerDefinition{Name: "c", Image: "i", PortMappings: []model.PortMapping{{ContainerPort: model.Ptr(int32(8080))}}}
	task := model.Task{TaskArn: taskArn}
	for _, tc := range []struct {
		mode     model.NetworkMode
		wantMode string
		wantHost int
		wantErr  string
	}{
		{"", "bridge", 0, ""},
		{model.NetworkModeBridge, "bridge", 0, ""},
		{model.NetworkModeHost, "host", 8080, ""},
		{model.NetworkModeNone, "none", 0, ""},
		{model.NetworkModeAwsvpc, "awsvpc", 0, ""}, // the runner joins the task's namespace (awsvpc.go)
		{"nat", "", 0, "network mode nat is not supported"},
	} {
		s, err := buildSpec(&task, &model.TaskDefinition{NetworkMode: tc.mode}, &cd, instArn)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("mode %q: err = %v; want %q", tc.mode, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("mode %q: %v", tc.mode, err)
			continue
		}
		if s.NetworkMode != tc.wantMode || s.PortMappings[0].HostPort != tc.wantHost {
			t.Errorf("mode %q: network %q host port %d; want %q, %d", tc.mode, s.NetworkMode, s.PortMappings[0].HostPort, tc.wantMode, tc.wantHost)
		}
	}
}

func TestBuildSpecRefusesWhatItCannotRun(t *testing.T) {
	task := model.Task{TaskArn: taskArn}
	for name, tc := range map[string]struct {
		def model.TaskDefinition
		cd  model.ContainerDefinition
	}{
		"unknown volume": {cd: model.ContainerDefinition{Name: "c", MountPoints: []model.MountPoint{{SourceVolume: "nope", ContainerPath: "/x"}}}},
		"efs volume": {
			def: model.TaskDefinition{Volumes: []model.Volume{{Name: "v", EfsVolumeConfiguration: &model.EFSVolumeConfiguration{FileSystemId: "fs-1"}}}},
			cd:  model.ContainerDefinition{Name: "c", MountPoints: []model.MountPoint{{SourceVolume: "v", ContainerPath: "/x"}}},
		},
		"port range": {cd: model.ContainerDefinition{Name: "c", PortMappings: []model.PortMapping{{ContainerPortRange: "8000-8010"}}}},
	} {
		if _, err := buildSpec(&task, &tc.def, &tc.cd, instArn); err == nil {
			t.Errorf("%s: buildSpec succeeded; want an error", name)
		}
	}
}
