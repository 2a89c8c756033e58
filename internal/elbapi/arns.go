package elbapi

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// ARNs of load balancing resources, in AWS's forms:
//
//	loadbalancer/app/NAME/ID                   (net/ for network load balancers)
//	targetgroup/NAME/ID
//	listener/app/LBNAME/LBID/LISTENERID
//	listener-rule/app/LBNAME/LBID/LISTENERID/RULEID
type arns struct {
	region, account string
}

func (a arns) prefix() string {
	return "arn:aws:elasticloadbalancing:" + a.region + ":" + a.account + ":"
}

// lbKind is the ARN path segment of a load balancer type.
func lbKind(typ string) string {
	if typ == lbNetwork {
		return "net"
	}
	return "app"
}

func (a arns) loadBalancer(typ, name, id string) string {
	return a.prefix() + "loadbalancer/" + lbKind(typ) + "/" + name + "/" + id
}

func (a arns) targetGroup(name, id string) string {
	return a.prefix() + "targetgroup/" + name + "/" + id
}

func (a arns) listener(typ, lbName, lbID, id string) string {
	return a.prefix() + "listener/" + lbKind(typ) + "/" + lbName + "/" + lbID + "/" + id
}

func (a arns) rule(typ, lbName, lbID, listenerID, id string) string {
	return a.prefix() + "listener-rule/" + lbKind(typ) + "/" + lbName + "/" + lbID + "/" + listenerID + "/" + id
}

// parsed is an ELB ARN split into its resource type and path.
type parsed struct {
	typ   string   // loadbalancer, targetgroup, listener, listener-rule
	parts []string // the path after the type
}

// parse splits arn if it is one of this region's and account's ELB ARNs.
func (a arns) parse(arn string) (parsed, bool) {
	rest, ok := strings.CutPrefix(arn, a.prefix())
	if !ok {
		return parsed{}, false
	}
	typ, path, ok := strings.Cut(rest, "/")
	if !ok {
		return parsed{}, false
	}
	parts := strings.Split(path, "/")
	for _, p := range parts {
		if p == "" {
			return parsed{}, false
		}
	}
	want := map[string]int{"loadbalancer": 3, "targetgroup": 2, "listener": 4, "listener-rule": 5}[typ]
	if want == 0 || len(parts) != want {
		return parsed{}, false
	}
	if typ != "targetgroup" && parts[0] != "app" && parts[0] != "net" {
		return parsed{}, false
	}
	return parsed{typ: typ, parts: parts}, true
}

// lbRef is a load balancer ARN's name and ID.
func (a arns) lbRef(arn string) (name, id string, ok bool) {
	p, ok := a.parse(arn)
	if !ok || p.typ != "loadbalancer" {
		return "", "", false
	}
	return p.parts[1], p.parts[2], true
}

// tgRef is a target group ARN's name and ID.
func (a arns) tgRef(arn string) (name, id string, ok bool) {
	p, ok := a.parse(arn)
	if !ok || p.typ != "targetgroup" {
		return "", "", false
	}
	return p.parts[0], p.parts[1], true
}

// listenerRef is a listener ARN's load balancer ID and listener ID.
func (a arns) listenerRef(arn string) (lbID, id string, ok bool) {
	p, ok := a.parse(arn)
	if !ok || p.typ != "listener" {
		return "", "", false
	}
	return p.parts[2], p.parts[3], true
}

// ruleRef is a rule ARN's load balancer, listener and rule IDs.
func (a arns) ruleRef(arn string) (lbID, listenerID, id string, ok bool) {
	p, ok := a.parse(arn)
	if !ok || p.typ != "listener-rule" {
		return "", "", "", false
	}
	return p.parts[2], p.parts[3], p.parts[4], true
}

// newID is a resource ID as AWS writes them: 16 hexadecimal digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// defaultRuleID is the ID of a listener's default rule, derived from the
// listener's so that its ARN is stable without being stored.
func defaultRuleID(listenerID string) string {
	b := []byte(listenerID)
	for i := range b {
		// Reverse the digits: distinct from every stored rule's random ID
		// in practice, and the same every time.
		b[i] = "fedcba9876543210"[strings.IndexByte("0123456789abcdef", b[i])&15]
	}
	return string(b)
}
