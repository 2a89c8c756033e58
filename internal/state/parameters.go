package state

import (
	"fmt"

	"github.com/wharf-ecs/wharf/internal/model"
)

// SSM Parameter Store documents. A parameter's latest version lives under
// ParameterKey; every version it still keeps (the latest included) lives
// under ParameterVersionKey, so that "name:version" selectors and the history
// can be read without decoding one ever-growing document.
//
// Names are stored as given: "/a/b" under "parameters//a/b", "plain" under
// "parameters/plain". A hierarchy's parameters therefore share the key prefix
// ParameterKey(path + "/"), which is how GetParametersByPath scans a path.
const (
	ParametersPrefix        = "parameters/"
	ParameterVersionsPrefix = "parameterversions/"
)

// ParameterKey is the key of a parameter's latest version.
func ParameterKey(name string) string { return ParametersPrefix + name }

// ParameterVersionsOf is the prefix of one parameter's kept versions. '!' is
// not a character a parameter name may hold, so no other name shares it.
func ParameterVersionsOf(name string) string { return ParameterVersionsPrefix + name + "!" }

// ParameterVersionKey is the key of one version of a parameter; the padding
// lists versions in number order.
func ParameterVersionKey(name string, version int64) string {
	return ParameterVersionsOf(name) + fmt.Sprintf("%019d", version)
}

// Parameter is one version of an SSM parameter. A SecureString's value is
// never stored in clear: Sealed holds it sealed with the server's master key,
// bound to the parameter's name, and Value stays empty.
type Parameter struct {
	Name             string         `json:"name"`
	Type             string         `json:"type"` // String, StringList or SecureString
	Value            string         `json:"value,omitempty"`
	Sealed           []byte         `json:"sealed,omitempty"`
	KeyID            string         `json:"keyId,omitempty"`
	Description      string         `json:"description,omitempty"`
	AllowedPattern   string         `json:"allowedPattern,omitempty"`
	DataType         string         `json:"dataType"`
	Tier             string         `json:"tier"`
	Version          int64          `json:"version"`
	LastModifiedDate *model.Time    `json:"lastModifiedDate"`
	LastModifiedUser string         `json:"lastModifiedUser,omitempty"`
	Tags             []ParameterTag `json:"tags,omitempty"`
}

// ParameterTag is a tag given when the parameter was created.
type ParameterTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
