package auth

import (
	"fmt"
	"strings"
)

const algorithm = "AWS4-HMAC-SHA256"

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	Terminator    string
	SignedHeaders string // as sent: lower-case names joined by ';'
	Signature     string // 64 lower-case hex digits
}

// headerNames splits SignedHeaders into its names.
func (a authorization) headerNames() []string { return strings.Split(a.SignedHeaders, ";") }

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>
//
// Parameters may be separated by commas and any spaces, in any order, each
// exactly once. The error message is meant for the client.
func parseAuthorization(v string) (authorization, error) {
	var a authorization
	alg, rest, _ := strings.Cut(strings.TrimLeft(v, " "), " ")
	if alg != algorithm {
		if len(alg) > 64 {
			alg = alg[:64] + "..."
		}
		return a, fmt.Errorf("Unsupported AWS 'algorithm': %q; Wharf accepts %s in the Authorization header.", alg, algorithm)
	}
	var seen [3]bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.Trim(part, " ")
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return a, fmt.Errorf("Authorization header parameter %q is not of the form key=value.", clip(part))
		}
		var i int
		switch key {
		case "Credential":
			i = 0
		case "SignedHeaders":
			i = 1
		case "Signature":
			i = 2
		default:
			return a, fmt.Errorf("Authorization header has an unknown parameter %q.", clip(key))
		}
		if seen[i] {
			return a, fmt.Errorf("Authorization header has parameter %q more than once.", key)
		}
		seen[i] = true
		switch i {
		case 0:
			f := strings.Split(val, "/")
			if len(f) != 5 {
				return a, fmt.Errorf("Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request; got %q.", clip(val))
			}
			for _, s := range f {
				if s == "" {
					return a, fmt.Errorf("Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request; got %q.", clip(val))
				}
			}
			a.AccessKeyID, a.Date, a.Region, a.Service, a.Terminator = f[0], f[1], f[2], f[3], f[4]
		case 1:
			if err := checkSignedHeaders(val); err != nil {
				return a, err
			}
			a.SignedHeaders = val
		case 2:
			if !isLowerHex(val, 64) {
				return a, fmt.Errorf("Signature must be 64 lower-case hexadecimal digits.")
			}
			a.Signature = val
		}
	}
	var missing []string
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[i] {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", name))
		}
	}
	if missing != nil {
		return a, fmt.Errorf("%s", strings.Join(missing, " "))
	}
	return a, nil
}

func checkSignedHeaders(v string) error {
	if v == "" {
		return fmt.Errorf("SignedHeaders must not be empty.")
	}
	seen := map[string]bool{}
	for _, h := range strings.Split(v, ";") {
		if h == "" || !isHeaderToken(h) {
			return fmt.Errorf("SignedHeaders must be lower-case header names separated by ';'; got %q.", clip(v))
		}
		if seen[h] {
			return fmt.Errorf("SignedHeaders names %q more than once.", clip(h))
		}
		seen[h] = true
	}
	return nil
}

// isHeaderToken reports whether s is a lower-case RFC 9110 token.
func isHeaderToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// clip shortens client-supplied text quoted back in a message.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
