package state

// Keys of replicated control planes (several servers on one etcd store).
//
//	leader/<lease>        a server campaigning to lead, under its etcd lease;
//	                      the oldest one leads (package leader)
//	heartbeats/<server>   the agents that polled one server lately
//	                      (package heartbeat), so the leader's liveness check
//	                      hears of agents polling the other servers
const (
	LeaderPrefix     = "leader/"
	HeartbeatsPrefix = "heartbeats/"
)

// HeartbeatKey is the key of one server's heartbeat record.
func HeartbeatKey(server string) string { return HeartbeatsPrefix + server }

// Heartbeats is one server's record of the agents that polled it: instance
// ID → the last poll, in Unix milliseconds of that server's clock.
type Heartbeats struct {
	Server string           `json:"server"`
	Seen   map[string]int64 `json:"seen"`
}
