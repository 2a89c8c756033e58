package state

import "github.com/wharf-ecs/wharf/internal/model"

// Key prefixes of the authentication records.
const (
	JoinTokensPrefix       = "jointokens/"
	AgentCredentialsPrefix = "agentcreds/"
)

// JoinTokenKey is the key of a join token by its ID.
func JoinTokenKey(id string) string { return JoinTokensPrefix + id }

// AgentCredentialKey is the key of an agent credential by access key ID.
func AgentCredentialKey(accessKeyID string) string { return AgentCredentialsPrefix + accessKeyID }

// JoinToken lets agents register container instances in one cluster. Only
// the SHA-256 of its secret part is stored.
type JoinToken struct {
	ID           string      `json:"id"`
	Cluster      string      `json:"cluster"`
	SecretSHA256 string      `json:"secretSha256"`
	Description  string      `json:"description,omitempty"`
	CreatedBy    string      `json:"createdBy"`
	CreatedAt    *model.Time `json:"createdAt"`
	ExpiresAt    *model.Time `json:"expiresAt"`
}

// AgentCredential binds an access key to the container instance it was
// issued to. Its secret is derived from the server's master key and never
// stored.
type AgentCredential struct {
	AccessKeyID string      `json:"accessKeyId"`
	Cluster     string      `json:"cluster"`
	InstanceID  string      `json:"instanceId"`
	InstanceArn string      `json:"instanceArn"`
	TokenID     string      `json:"tokenId"`
	CreatedAt   *model.Time `json:"createdAt"`
}
