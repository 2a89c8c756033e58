package agentproto

import "github.com/wharf-ecs/wharf/internal/model"

// AdminTargetPrefix is the X-Amz-Target prefix of Wharf's administrative
// operations: join tokens for agents, and an agent joining with one.
const AdminTargetPrefix = "WharfAdmin_v1"

// Operation names of the admin service.
const (
	CreateJoinToken = "CreateJoinToken"
	ListJoinTokens  = "ListJoinTokens"
	DeleteJoinToken = "DeleteJoinToken"
	JoinCluster     = "JoinCluster"
)

// CreateJoinTokenRequest asks for a token that registers agents in Cluster.
type CreateJoinTokenRequest struct {
	Cluster          string `json:"cluster"`
	ExpiresInSeconds int64  `json:"expiresInSeconds,omitempty"` // default one day
	Description      string `json:"description,omitempty"`
}

// JoinTokenInfo describes a join token without its secret.
type JoinTokenInfo struct {
	TokenID     string      `json:"tokenId"`
	Cluster     string      `json:"cluster"`
	Description string      `json:"description,omitempty"`
	CreatedBy   string      `json:"createdBy"`
	CreatedAt   *model.Time `json:"createdAt"`
	ExpiresAt   *model.Time `json:"expiresAt"`
}

// CreateJoinTokenResponse carries the token, shown this once.
type CreateJoinTokenResponse struct {
	Token     string        `json:"token"`
	JoinToken JoinTokenInfo `json:"joinToken"`
}

// ListJoinTokensRequest lists the tokens of a cluster ("" lists all).
type ListJoinTokensRequest struct {
	Cluster string `json:"cluster,omitempty"`
}

// ListJoinTokensResponse lists tokens without their secrets.
type ListJoinTokensResponse struct {
	JoinTokens []JoinTokenInfo `json:"joinTokens"`
}

// DeleteJoinTokenRequest revokes a token; instances that joined with it keep
// their own credentials.
type DeleteJoinTokenRequest struct {
	TokenID string `json:"tokenId"`
}

// DeleteJoinTokenResponse is empty.
type DeleteJoinTokenResponse struct{}

// JoinClusterRequest registers a container instance with a join token in
// place of a signature.
type JoinClusterRequest struct {
	JoinToken    string                                 `json:"joinToken"`
	Registration model.RegisterContainerInstanceRequest `json:"registration"`
}

// JoinClusterResponse is the registered instance and the credential its
// agent signs every later request with.
type JoinClusterResponse struct {
	ContainerInstance *model.ContainerInstance `json:"containerInstance"`
	AccessKeyID       string                   `json:"accessKeyId"`
	SecretAccessKey   string                   `json:"secretAccessKey"`
}
