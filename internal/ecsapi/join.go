package ecsapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Agents join a cluster with a join token an operator created
// (CreateJoinToken): JoinCluster registers the container instance and hands
// the agent a credential bound to that instance, which signs everything the
// agent sends afterwards. The token's secret is stored only as its SHA-256;
// the credential's secret is derived from the server's master key and never
// stored.

const (
	defaultJoinTokenTTL = 24 * time.Hour
	maxJoinTokenTTL     = 365 * 24 * time.Hour
	joinTokenPrefix     = "wharf-join-"
	// agentKeyPrefix starts every agent access key ID, so that lookups of
	// other keys never reach the store.
	agentKeyPrefix = "WAGT"
)

// AdminService returns the WharfAdmin_v1 operations.
func (a *API) AdminService() *awsproto.Service {
	s := awsproto.NewService(agentproto.AdminTargetPrefix, nil)
	awsproto.Handle(s, agentproto.CreateJoinToken, a.CreateJoinToken)
	awsproto.Handle(s, agentproto.ListJoinTokens, a.ListJoinTokens)
	awsproto.Handle(s, agentproto.DeleteJoinToken, a.DeleteJoinToken)
	awsproto.Handle(s, agentproto.JoinCluster, a.JoinCluster)
	awsproto.Handle(s, agentproto.ExplainPlacement, a.ExplainPlacement)
	awsproto.Handle(s, agentproto.RestartContainer, a.RestartContainer)
	a.registerCapacityAdmin(s)
	return s
}

// CreateJoinToken creates a token that registers agents in a cluster.
func (a *API) CreateJoinToken(ctx context.Context, in *agentproto.CreateJoinTokenRequest) (*agentproto.CreateJoinTokenResponse, error) {
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	ttl := defaultJoinTokenTTL
	if in.ExpiresInSeconds != 0 {
		if in.ExpiresInSeconds < 60 || in.ExpiresInSeconds > int64(maxJoinTokenTTL/time.Second) {
			return nil, invalidParam("expiresInSeconds %d is out of range: give 60 to %d seconds.", in.ExpiresInSeconds, int64(maxJoinTokenTTL/time.Second))
		}
		ttl = time.Duration(in.ExpiresInSeconds) * time.Second
	}
	if len(in.Description) > 255 {
		return nil, invalidParam("description is %d characters; at most 255.", len(in.Description))
	}
	var idb [8]byte
	var secret [32]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(secret[:])
	id := hex.EncodeToString(idb[:])
	sec := hex.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(sec))
	now := a.now()
	createdBy := "anonymous"
	if p := auth.PrincipalFrom(ctx); p != nil {
		createdBy = p.Name
	}
	tok := state.JoinToken{ID: id, Cluster: c.ClusterName, SecretSHA256: hex.EncodeToString(sum[:]),
		Description: in.Description, CreatedBy: createdBy,
		CreatedAt: model.NewTime(now), ExpiresAt: model.NewTime(now.Add(ttl))}
	key := state.JoinTokenKey(id)
	if _, err := a.st.Commit(ctx, store.Txn{
		Conds: []store.Cond{{Key: key, Revision: 0}},
		Ops:   []store.Op{state.Put(key, tok)},
	}); err != nil {
		return nil, err
	}
	return &agentproto.CreateJoinTokenResponse{Token: joinTokenPrefix + id + "-" + sec, JoinToken: tokenInfo(&tok)}, nil
}

func tokenInfo(t *state.JoinToken) agentproto.JoinTokenInfo {
	return agentproto.JoinTokenInfo{TokenID: t.ID, Cluster: t.Cluster, Description: t.Description,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}

// ListJoinTokens lists the tokens of a cluster, or all, without secrets.
func (a *API) ListJoinTokens(ctx context.Context, in *agentproto.ListJoinTokensRequest) (*agentproto.ListJoinTokensResponse, error) {
	cluster := ""
	if in.Cluster != "" {
		name, err := clusterName(in.Cluster)
		if err != nil {
			return nil, err
		}
		cluster = name
	}
	items, _, err := state.List[state.JoinToken](ctx, a.st, state.JoinTokensPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := &agentproto.ListJoinTokensResponse{JoinTokens: []agentproto.JoinTokenInfo{}}
	for _, it := range items {
		if cluster == "" || it.Val.Cluster == cluster {
			out.JoinTokens = append(out.JoinTokens, tokenInfo(it.Val))
		}
	}
	return out, nil
}

// DeleteJoinToken revokes a token.
func (a *API) DeleteJoinToken(ctx context.Context, in *agentproto.DeleteJoinTokenRequest) (*agentproto.DeleteJoinTokenResponse, error) {
	if !validTokenID(in.TokenID) {
		return nil, invalidParam("tokenId %q is not a join token ID (16 hex digits, as ListJoinTokens shows).", clip(in.TokenID))
	}
	key := state.JoinTokenKey(in.TokenID)
	_, rev, err := state.Get[state.JoinToken](ctx, a.st, key)
	if isNotFound(err) {
		return nil, invalidParam("Join token %s was not found; ListJoinTokens shows the tokens there are.", in.TokenID)
	}
	if err != nil {
		return nil, err
	}
	if _, err := a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Delete(key)}}); err != nil {
		return nil, err
	}
	return &agentproto.DeleteJoinTokenResponse{}, nil
}

func validTokenID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// errBadJoinToken is the one answer to every token that does not check out,
// so that a caller learns nothing about which part was wrong.
func errBadJoinToken() error {
	return auth.AccessDenied("The join token is not valid: it is malformed, unknown, revoked or expired. Create a new one with `wharf join-token create --cluster NAME`.")
}

// JoinCluster registers a container instance with a join token and returns
// the credential of that instance.
func (a *API) JoinCluster(ctx context.Context, in *agentproto.JoinClusterRequest) (*agentproto.JoinClusterResponse, error) {
	if a.keyring == nil {
		return nil, errServer("this server has no master key, so it cannot issue agent credentials")
	}
	rest, ok := strings.CutPrefix(in.JoinToken, joinTokenPrefix)
	id, secret, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 || !validTokenID(id) {
		return nil, errBadJoinToken()
	}
	tok, _, err := state.Get[state.JoinToken](ctx, a.st, state.JoinTokenKey(id))
	if isNotFound(err) {
		return nil, errBadJoinToken()
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	want, _ := hex.DecodeString(tok.SecretSHA256)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || tok.ExpiresAt == nil || !a.now().Before(tok.ExpiresAt.Time) {
		return nil, errBadJoinToken()
	}
	reg := in.Registration
	if reg.Cluster != "" {
		name, err := clusterName(reg.Cluster)
		if err != nil {
			return nil, err
		}
		if name != tok.Cluster {
			return nil, auth.AccessDenied("This join token registers instances in cluster " + tok.Cluster + ", not " + name + ".")
		}
	}
	if reg.ContainerInstanceArn != "" {
		// A token makes new instances only: taking over a registered one
		// would hand its tasks (and their secrets) to whoever holds a token.
		return nil, invalidParam("JoinCluster registers a new container instance; an agent re-registers its instance with the credential it was issued.")
	}
	reg.Cluster = tok.Cluster
	out, err := a.RegisterContainerInstance(ctx, &reg)
	if err != nil {
		return nil, err
	}
	ci := out.ContainerInstance
	_, instID, _ := parseInstanceRef(ci.ContainerInstanceArn)
	var kb [10]byte
	_, _ = rand.Read(kb[:])
	akid := agentKeyPrefix + strings.ToUpper(hex.EncodeToString(kb[:]))[:16]
	cred := state.AgentCredential{AccessKeyID: akid, Cluster: tok.Cluster, InstanceID: instID,
		InstanceArn: ci.ContainerInstanceArn, TokenID: tok.ID, CreatedAt: a.timeNow()}
	key := state.AgentCredentialKey(akid)
	if _, err := a.st.Commit(ctx, store.Txn{
		Conds: []store.Cond{{Key: key, Revision: 0}},
		Ops:   []store.Op{state.Put(key, cred)},
	}); err != nil {
		return nil, err
	}
	a.log.Info("agent joined", "cluster", tok.Cluster, "instance", ci.ContainerInstanceArn, "token", tok.ID, "access_key", akid)
	return &agentproto.JoinClusterResponse{ContainerInstance: ci, AccessKeyID: akid, SecretAccessKey: a.agentSecret(akid)}, nil
}

func (a *API) agentSecret(akid string) string {
	return base64.RawURLEncoding.EncodeToString(a.keyring.Derive("agent-credential", akid))
}

// AgentCredentials is the auth.Credentials of agent access keys. A key is
// valid while its container instance is registered.
func (a *API) AgentCredentials() auth.Credentials { return agentCreds{a} }

type agentCreds struct{ a *API }

func (c agentCreds) Lookup(akid string) (string, *auth.Principal, bool) {
	a := c.a
	if a.keyring == nil || !strings.HasPrefix(akid, agentKeyPrefix) || len(akid) != len(agentKeyPrefix)+16 {
		return "", nil, false
	}
	ctx := a.bgCtx()
	cred, _, err := state.Get[state.AgentCredential](ctx, a.st, state.AgentCredentialKey(akid))
	if err != nil {
		return "", nil, false
	}
	inst, _, err := state.Get[state.ContainerInstance](ctx, a.st, state.InstanceKey(cred.Cluster, cred.InstanceID))
	if err != nil || inst.Status == instanceInactive {
		return "", nil, false
	}
	return a.agentSecret(akid), &auth.Principal{Kind: auth.Agent, Name: cred.InstanceArn, AccessKeyID: akid,
		Cluster: cred.Cluster, InstanceID: cred.InstanceID, InstanceArn: cred.InstanceArn}, true
}

// agentRequest holds the members of agent requests that say whose they are.
type agentRequest struct {
	Cluster              string `json:"cluster"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
}

// AuthorizeAgent is the gate's rule for agent credentials on the ECS and
// agent services: an agent may register (again) its own instance, poll for
// its tasks, report their state and send their usage samples, in its own
// cluster. Reports and samples are checked against the task's instance when
// they are applied.
func (a *API) AuthorizeAgent(ctx context.Context, p *auth.Principal, op string, body []byte) error {
	switch op {
	case "RegisterContainerInstance", agentproto.PollTasks, agentproto.SubmitTaskStats:
	case "SubmitTaskStateChange", "SubmitContainerStateChange", "SubmitAttachmentStateChanges":
	case "DiscoverPollEndpoint":
		return nil
	default:
		return auth.AgentDenied(p, "call "+op)
	}
	var in agentRequest
	if err := awsproto.Decode(body, &in); err != nil {
		return err
	}
	cluster, err := clusterName(in.Cluster)
	if err != nil {
		return err
	}
	if cluster != p.Cluster {
		return auth.AgentDenied(p, "act in cluster "+cluster)
	}
	switch op {
	case "RegisterContainerInstance", agentproto.PollTasks, agentproto.SubmitTaskStats:
		if in.ContainerInstanceArn == "" {
			if op != "RegisterContainerInstance" {
				return auth.AgentDenied(p, "call "+op+" without naming its instance")
			}
			return auth.AgentDenied(p, "register a new container instance (use a join token)")
		}
		_, id, err := parseInstanceRef(in.ContainerInstanceArn)
		if err != nil {
			return err
		}
		if id != p.InstanceID {
			return auth.AgentDenied(p, "act for container instance "+in.ContainerInstanceArn)
		}
	}
	return nil
}

// AdminResources names the cluster an admin request is about, for policies:
// CreateJoinToken, ListJoinTokens and ExplainPlacement act on the cluster's ARN,
// DeleteJoinToken (which names only a token) on "*".
func (a *API) AdminResources(op string, body []byte) ([]string, error) {
	switch op {
	case agentproto.CreateJoinToken, agentproto.ListJoinTokens, agentproto.ExplainPlacement, agentproto.RestartContainer,
		agentproto.DescribeCapacityScaling, agentproto.InterruptSpotTask, agentproto.StartExecSession:
		var in struct {
			Cluster string `json:"cluster"`
		}
		if err := awsproto.Decode(body, &in); err != nil {
			return nil, err
		}
		if op == agentproto.ListJoinTokens && in.Cluster == "" {
			return []string{"*"}, nil
		}
		name, err := clusterName(in.Cluster)
		if err != nil {
			return nil, err
		}
		return []string{a.arns.Cluster(name)}, nil
	}
	return []string{"*"}, nil
}
