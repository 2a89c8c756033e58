package ecsapi

import (
	"fmt"
	"strconv"
	"strings"
)

// ARNs builds and parses ECS ARNs for one region and account, in the long
// forms that carry the cluster name.
type ARNs struct {
	Region  string
	Account string
}

func (a ARNs) prefix() string { return "arn:aws:ecs:" + a.Region + ":" + a.Account + ":" }

// Cluster is arn:aws:ecs:REGION:ACCOUNT:cluster/NAME.
func (a ARNs) Cluster(name string) string { return a.prefix() + "cluster/" + name }

// TaskDefinition is arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV.
func (a ARNs) TaskDefinition(family string, rev int32) string {
	return a.prefix() + "task-definition/" + family + ":" + strconv.Itoa(int(rev))
}

// Task is arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID.
func (a ARNs) Task(cluster, id string) string { return a.prefix() + "task/" + cluster + "/" + id }

// ContainerInstance is arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID.
func (a ARNs) ContainerInstance(cluster, id string) string {
	return a.prefix() + "container-instance/" + cluster + "/" + id
}

// Container is arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASKID/UUID.
func (a ARNs) Container(cluster, taskID, id string) string {
	return a.prefix() + "container/" + cluster + "/" + taskID + "/" + id
}

// Service is arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME.
func (a ARNs) Service(cluster, name string) string {
	return a.prefix() + "service/" + cluster + "/" + name
}

// ParsedARN is an ECS ARN split into its resource type and path parts.
type ParsedARN struct {
	Region, Account string
	Type            string   // cluster, task, task-definition, container-instance, service, ...
	Parts           []string // the resource path split on '/'
}

// ParseARN splits an ECS ARN. It does not check region or account.
func ParseARN(s string) (ParsedARN, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "ecs" {
		return ParsedARN{}, fmt.Errorf("%q is not an ECS ARN (arn:aws:ecs:REGION:ACCOUNT:TYPE/ID)", s)
	}
	typ, path, ok := strings.Cut(f[5], "/")
	if !ok || path == "" {
		return ParsedARN{}, fmt.Errorf("%q is not an ECS ARN (arn:aws:ecs:REGION:ACCOUNT:TYPE/ID)", s)
	}
	return ParsedARN{Region: f[3], Account: f[4], Type: typ, Parts: strings.Split(path, "/")}, nil
}

// clusterName accepts a cluster name or ARN ("" means "default") and returns
// the name.
func clusterName(s string) (string, error) {
	if s == "" {
		return "default", nil
	}
	if strings.HasPrefix(s, "arn:") {
		p, err := ParseARN(s)
		if err != nil || p.Type != "cluster" || len(p.Parts) != 1 {
			return "", invalidParam("Invalid cluster %q: give a cluster name or an ARN of the form arn:aws:ecs:REGION:ACCOUNT:cluster/NAME.", s)
		}
		s = p.Parts[0]
	}
	if !validName(s) {
		return "", invalidParam("Invalid cluster name %q: up to 255 letters, numbers, underscores and hyphens.", s)
	}
	return s, nil
}

// validName reports whether s is a valid cluster, family or service name:
// 1 to 255 of [A-Za-z0-9_-].
func validName(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
