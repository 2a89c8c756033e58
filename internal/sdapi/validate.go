package sdapi

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Validation of names, attributes and tags, with Cloud Map's limits.

const (
	maxDescription      = 1024
	maxCreatorRequestID = 64
	maxHTTPName         = 1024
	maxDNSName          = 253
	maxServiceName      = 127
	maxInstanceID       = 64
	maxAttrKey          = 255
	maxAttrValue        = 1024
	maxCustomAttrs      = 30
	maxAttrsSize        = 5000
	maxTags             = 200
	maxTTL              = 2147483647
)

// printable reports whether s holds only the visible ASCII characters '!'
// to '~' (Cloud Map's [!-~]).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

func checkCommon(description, creatorRequestID string) error {
	if len(description) > maxDescription {
		return invalid("Description must be at most %d characters; got %d.", maxDescription, len(description))
	}
	if len(creatorRequestID) > maxCreatorRequestID {
		return invalid("CreatorRequestId must be at most %d characters; got %d.", maxCreatorRequestID, len(creatorRequestID))
	}
	return nil
}

// checkHTTPNamespaceName applies the model's rule for HTTP namespace names.
func checkHTTPNamespaceName(name string) error {
	if name == "" || len(name) > maxHTTPName || !printable(name) || strings.HasPrefix(name, "arn:") {
		return invalid("Invalid namespace Name %q: 1 to %d visible ASCII characters without spaces, not beginning with arn:.", name, maxHTTPName)
	}
	return nil
}

// dnsNamespaceName checks a DNS namespace name and returns it without a
// trailing dot: labels of letters, digits, hyphens and underscores, at most
// 63 characters each and 253 in all, as a DNS zone needs.
func dnsNamespaceName(name string) (string, error) {
	n := strings.TrimSuffix(name, ".")
	bad := func() (string, error) {
		return "", invalid("Invalid namespace Name %q: a DNS domain name such as example.local — labels of letters, digits, hyphens and underscores, at most 63 characters each and %d in all.", name, maxDNSName)
	}
	if n == "" || len(n) > maxDNSName {
		return bad()
	}
	for _, label := range strings.Split(n, ".") {
		if !validLabel(label, true) {
			return bad()
		}
	}
	return n, nil
}

// validLabel reports whether s is a DNS label Cloud Map accepts: letters,
// digits, hyphens and (when underscore) underscores, not beginning or ending
// with a hyphen.
func validLabel(s string, underscore bool) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '_' && underscore:
		default:
			return false
		}
	}
	return true
}

// checkServiceName applies the model's pattern: dot-separated labels of
// letters, digits, hyphens and underscores (a one-character label is a
// letter or digit), up to 127 characters; or "." alone, the namespace's apex.
func checkServiceName(name string) error {
	if name == "." {
		return nil
	}
	ok := name != "" && len(name) <= maxServiceName
	for _, label := range strings.Split(name, ".") {
		if !ok {
			break
		}
		ok = validLabel(label, true) && (len(label) > 1 || label != "_")
	}
	if !ok {
		return invalid("Invalid service Name %q: dot-separated labels of letters, digits, hyphens and underscores (such as backend or _http._tcp.backend), up to %d characters.", name, maxServiceName)
	}
	return nil
}

func checkInstanceID(id string) error {
	ok := id != "" && len(id) <= maxInstanceID
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_/:.@-", c) >= 0
	}
	if !ok {
		return invalid("Invalid InstanceId %q: 1 to %d letters, digits and the characters _ / : . @ -.", id, maxInstanceID)
	}
	return nil
}

// checkAttributes validates RegisterInstance's attributes against the
// service's DNS records: an A record needs AWS_INSTANCE_IPV4, an AAAA record
// AWS_INSTANCE_IPV6 (either serves when the service has both), an SRV record
// AWS_INSTANCE_PORT and an address for its target.
func checkAttributes(attrs map[string]string, svc *state.CloudMapService) error {
	if len(attrs) == 0 {
		return invalid("Attributes are required: give at least AWS_INSTANCE_IPV4 (and AWS_INSTANCE_PORT for SRV records), or custom attributes for an HTTP service.")
	}
	size, custom := 0, 0
	for k, v := range attrs {
		if k == "" || len(k) > maxAttrKey || !printable(k) {
			return invalid("Invalid attribute key %q: 1 to %d visible ASCII characters without spaces.", k, maxAttrKey)
		}
		if len(v) > maxAttrValue || !attrValueOK(v) {
			return invalid("Invalid value of attribute %s: at most %d visible ASCII characters; spaces and tabs only between them.", k, maxAttrValue)
		}
		size += len(k) + len(v)
		if !strings.HasPrefix(k, "AWS_") {
			custom++
		}
	}
	if custom > maxCustomAttrs {
		return invalid("An instance may have at most %d custom attributes; got %d.", maxCustomAttrs, custom)
	}
	if size > maxAttrsSize {
		return invalid("The attributes' keys and values add up to %d characters; the limit is %d.", size, maxAttrsSize)
	}
	ip4, has4 := attrs[state.CloudMapAttrIPv4]
	if has4 {
		if a, err := netip.ParseAddr(ip4); err != nil || !a.Is4() {
			return invalid("AWS_INSTANCE_IPV4 %q is not an IPv4 address such as 192.0.2.44.", ip4)
		}
	}
	ip6, has6 := attrs[state.CloudMapAttrIPv6]
	if has6 {
		if a, err := netip.ParseAddr(ip6); err != nil || !a.Is6() || a.Is4In6() {
			return invalid("AWS_INSTANCE_IPV6 %q is not an IPv6 address such as 2001:db8::1.", ip6)
		}
	}
	port, hasPort := attrs[state.CloudMapAttrPort]
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalid("AWS_INSTANCE_PORT %q is not a port number from 1 to 65535.", port)
		}
	}
	if h, ok := attrs[state.CloudMapAttrInitHealth]; ok && h != state.CloudMapHealthy && h != state.CloudMapUnhealthy {
		return invalid("AWS_INIT_HEALTH_STATUS %q must be HEALTHY or UNHEALTHY.", h)
	}
	_, recA := svc.Record(state.CloudMapRecordA)
	_, recAAAA := svc.Record(state.CloudMapRecordAAAA)
	_, recSRV := svc.Record(state.CloudMapRecordSRV)
	switch {
	case recA && !recAAAA && !has4:
		return invalid("Service %s has an A record: AWS_INSTANCE_IPV4 is required.", svc.Name)
	case recAAAA && !recA && !has6:
		return invalid("Service %s has an AAAA record: AWS_INSTANCE_IPV6 is required.", svc.Name)
	case recA && recAAAA && !has4 && !has6:
		return invalid("Service %s has A and AAAA records: give AWS_INSTANCE_IPV4, AWS_INSTANCE_IPV6 or both.", svc.Name)
	case recSRV && !hasPort:
		return invalid("Service %s has an SRV record: AWS_INSTANCE_PORT is required.", svc.Name)
	case recSRV && !has4 && !has6:
		return invalid("Service %s has an SRV record, whose target needs an address: give AWS_INSTANCE_IPV4 or AWS_INSTANCE_IPV6.", svc.Name)
	}
	return nil
}

// attrValueOK applies the model's pattern for attribute values: visible
// characters, with spaces and tabs allowed only between them.
func attrValueOK(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < '!' || c > '~') && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// checkTags validates tags and returns them as stored.
func checkTags(tags []tag) ([]state.CloudMapTag, error) {
	if len(tags) > maxTags {
		return nil, awsproto.Errorf(codeTooManyTags, "At most %d tags are allowed; got %d.", maxTags, len(tags))
	}
	out := make([]state.CloudMapTag, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == nil || t.Value == nil {
			return nil, invalid("Each tag needs a Key and a Value.")
		}
		k, v := *t.Key, *t.Value
		if k == "" || len(k) > 128 || len(v) > 256 {
			return nil, invalid("Tag keys are 1 to 128 characters and values at most 256; got key %q.", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalid("Tag key %q is reserved: keys beginning with aws: are for AWS use.", k)
		}
		if seen[k] {
			return nil, invalid("Tag key %q appears more than once.", k)
		}
		seen[k] = true
		out = append(out, state.CloudMapTag{Key: k, Value: v})
	}
	return out, nil
}
