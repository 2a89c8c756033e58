package ecsapi

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// The awsvpc network mode: each task gets a network namespace and an
// address of its own, shown as an ElasticNetworkInterface attachment. Its
// subnet is the first of awsvpcConfiguration.subnets, which the agent maps
// to a Docker network (see internal/agent/awsvpc.go); the address and MAC
// come from the agent once the task's namespace exists.

const (
	attachmentENI = "ElasticNetworkInterface"
	maxSubnets    = 16
	maxSGs        = 5
	// ENI attachment statuses, as ECS reports them.
	eniPrecreated = "PRECREATED"
	eniAttached   = "ATTACHED"
	eniDeleted    = "DELETED"
	// The attachment's detail names.
	detailSubnet = "subnetId"
	detailENI    = "networkInterfaceId"
	detailIPv4   = "privateIPv4Address"
	detailMAC    = "macAddress"
	detailDNS    = "privateDnsName"
)

// checkAwsvpc checks the networkConfiguration of a launch whose task
// definition uses awsvpc: required, one to 16 subnets, at most five
// security groups, and a public IP only on Fargate.
func checkAwsvpc(td *model.TaskDefinition, lt model.LaunchType, nc *model.NetworkConfiguration) error {
	if td.NetworkMode != model.NetworkModeAwsvpc {
		return nil
	}
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified: give --network-configuration awsvpcConfiguration={subnets=[subnet-1]}. In Wharf a subnet is a Docker network (wharf-SUBNET) each agent creates on first use.")
	}
	c := nc.AwsvpcConfiguration
	if len(c.Subnets) == 0 || len(c.Subnets) > maxSubnets {
		return invalidParam("awsvpcConfiguration needs 1 to %d subnets; got %d.", maxSubnets, len(c.Subnets))
	}
	for _, s := range c.Subnets {
		if !validSubnet(s) {
			return invalidParam("Invalid subnet %q: up to 64 letters, numbers, hyphens and underscores, e.g. subnet-0a1b2c3d.", s)
		}
	}
	if len(c.SecurityGroups) > maxSGs {
		return invalidParam("awsvpcConfiguration takes at most %d security groups; got %d.", maxSGs, len(c.SecurityGroups))
	}
	switch c.AssignPublicIp {
	case "", model.AssignPublicIpDisabled:
	case model.AssignPublicIpEnabled:
		if lt != model.LaunchTypeFargate {
			return invalidParam("Assign public IP is not supported for this launch type: assignPublicIp ENABLED applies to FARGATE only.")
		}
	default:
		return invalidParam("Invalid assignPublicIp %q: use ENABLED or DISABLED.", c.AssignPublicIp)
	}
	return nil
}

func validSubnet(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// addNetworkAttachment gives an awsvpc task its ElasticNetworkInterface
// attachment, PRECREATED with its subnet and interface ID; the agent's
// report adds the address (applyNetworkReport).
func (a *API) addNetworkAttachment(t *state.Task, l *taskLaunch) {
	if l.td.NetworkMode != model.NetworkModeAwsvpc {
		return
	}
	subnet := ""
	if l.network != nil && l.network.AwsvpcConfiguration != nil && len(l.network.AwsvpcConfiguration.Subnets) > 0 {
		subnet = l.network.AwsvpcConfiguration.Subnets[0]
	}
	var b [9]byte
	_, _ = rand.Read(b[:])
	eni := "eni-" + hex.EncodeToString(b[:])[:17]
	t.Attachments = []model.Attachment{{
		Id:     newUUID(),
		Type:   attachmentENI,
		Status: eniPrecreated,
		Details: []model.KeyValuePair{
			{Name: detailSubnet, Value: subnet},
			{Name: detailENI, Value: eni},
		},
	}}
}

// TaskSubnet is the subnet of an awsvpc task's network interface ("" for a
// task without one): the agent puts the task on that subnet's network.
func TaskSubnet(t *model.Task) string {
	for _, at := range t.Attachments {
		if at.Type == attachmentENI {
			return attachmentDetail(&at, detailSubnet)
		}
	}
	return ""
}

func attachmentDetail(at *model.Attachment, name string) string {
	for _, d := range at.Details {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// setDetail sets one detail of an attachment, replacing one of that name.
func setDetail(at *model.Attachment, name, value string) {
	for i := range at.Details {
		if at.Details[i].Name == name {
			at.Details[i].Value = value
			return
		}
	}
	at.Details = append(at.Details, model.KeyValuePair{Name: name, Value: value})
}

// privateDNSName is the name ECS gives an address in a VPC: ip-10-0-0-5.ec2.internal style.
func privateDNSName(ip, region string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// applyNetworkReport records what the agent says of an awsvpc task's
// namespace: the attachment's address, MAC and DNS name (ATTACHED), each
// container's networkInterfaces; a STOPPED task's attachment is DELETED.
func (a *API) applyNetworkReport(t *state.Task, ni *agentproto.TaskNetworkInterface) bool {
	changed := false
	for i := range t.Attachments {
		at := &t.Attachments[i]
		if at.Type != attachmentENI {
			continue
		}
		if ni != nil && ni.PrivateIPv4Address != "" && t.LastStatus != taskStopped && attachmentDetail(at, detailIPv4) != ni.PrivateIPv4Address {
			setDetail(at, detailMAC, ni.MACAddress)
			setDetail(at, detailIPv4, ni.PrivateIPv4Address)
			setDetail(at, detailDNS, privateDNSName(ni.PrivateIPv4Address, a.arns.Region))
			at.Status = eniAttached
			for c := range t.Containers {
				t.Containers[c].NetworkInterfaces = []model.NetworkInterface{{AttachmentId: at.Id,
					PrivateIpv4Address: ni.PrivateIPv4Address, Ipv6Address: ni.IPv6Address}}
			}
			changed = true
		}
		if t.LastStatus == taskStopped && at.Status != eniDeleted {
			at.Status, changed = eniDeleted, true
		}
	}
	return changed
}
