package agent

import (
	"bufio"
	"fmt"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// defaultReservedPorts are the host ports the ECS agent reserves by default:
// SSH, the Docker daemon's ports and the ECS agent's introspection ports.
var defaultReservedPorts = []int{22, 2375, 2376, 51678, 51679}

// hostMemoryMiB reads the machine's memory from /proc/meminfo.
func hostMemoryMiB() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no MemTotal in /proc/meminfo")
}

// cpuArchitecture maps Go's GOARCH to the values of ecs.cpu-architecture.
func cpuArchitecture() string {
	switch goruntime.GOARCH {
	case "amd64":
		return "x86_64"
	default:
		return goruntime.GOARCH
	}
}

// Capabilities are the attributes that advertise what this agent supports,
// so that task definitions' requiresAttributes can be matched. Some are
// honoured in a reduced form on a machine without AWS, and say so here:
// awslogs output is shipped by the agent to Wharf's own CloudWatch Logs API
// (see logs.go); a task role is accepted but no role credentials are
// served; ECR images run when present locally. Secrets come from Wharf's
// own SSM Parameter Store; there is no Secrets Manager, so the asm
// capability is not advertised.
func Capabilities() []string {
	caps := []string{
		"com.amazonaws.ecs.capability.privileged-container",
		"com.amazonaws.ecs.capability.logging-driver.json-file",
		"com.amazonaws.ecs.capability.logging-driver.none",
		"com.amazonaws.ecs.capability.logging-driver.local",
		"com.amazonaws.ecs.capability.logging-driver.syslog",
		"com.amazonaws.ecs.capability.logging-driver.journald",
		"com.amazonaws.ecs.capability.logging-driver.fluentd",
		"com.amazonaws.ecs.capability.logging-driver.gelf",
		"com.amazonaws.ecs.capability.logging-driver.awslogs",
		"ecs.capability.execution-role-awslogs",
		"com.amazonaws.ecs.capability.task-iam-role",
		"com.amazonaws.ecs.capability.task-iam-role-network-host",
		"com.amazonaws.ecs.capability.ecr-auth",
		"ecs.capability.execution-role-ecr-pull",
		"ecs.capability.container-health-check",
		"ecs.capability.container-ordering",
		"ecs.capability.secrets.ssm.environment-variables",
		"ecs.capability.docker-plugin.local",
		"ecs.capability.task-eni", // awsvpc (awsvpc.go)
	}
	for v := 17; v <= 41; v++ {
		caps = append(caps, fmt.Sprintf("com.amazonaws.ecs.capability.docker-remote-api.1.%d", v))
	}
	return caps
}

// instanceAttributes are the built-in ECS attributes plus the operator's.
func instanceAttributes(cfg *Config) []model.Attribute {
	attrs := map[string]string{
		"ecs.os-type":           "linux",
		"ecs.os-family":         "LINUX",
		"ecs.cpu-architecture":  cpuArchitecture(),
		"ecs.instance-type":     cfg.InstanceType,
		"ecs.availability-zone": cfg.Zone,
	}
	for k, v := range cfg.Attributes {
		attrs[k] = v
	}
	out := make([]model.Attribute, 0, len(attrs)+40)
	for k, v := range attrs {
		out = append(out, model.Attribute{Name: k, Value: v})
	}
	for _, c := range Capabilities() {
		out = append(out, model.Attribute{Name: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// totalResources is what the instance offers: CPU units, memory in MiB, and
// the host ports no task may take.
func totalResources(cfg *Config) []model.Resource {
	ports := append(append([]int(nil), defaultReservedPorts...), cfg.ReservedPorts...)
	sort.Ints(ports)
	var tcp []string
	for i, p := range ports {
		if i > 0 && ports[i-1] == p {
			continue
		}
		tcp = append(tcp, strconv.Itoa(p))
	}
	return []model.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: model.Ptr(int32(cfg.CPU))},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: model.Ptr(int32(cfg.MemoryMiB))},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: tcp},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
	}
}
