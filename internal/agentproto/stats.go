package agentproto

import "time"

// SubmitTaskStats is the agent operation that reports resource usage:
// TargetPrefix + ".SubmitTaskStats". An agent credential may send it only
// for its own instance, and only samples of tasks placed on that instance
// count.
const SubmitTaskStats = "SubmitTaskStats"

// MaxStatsSamples bounds the samples of one SubmitTaskStats request.
const MaxStatsSamples = 10000

// SubmitTaskStatsRequest carries the samples an agent took since its last
// report. SentAt is the agent's clock when it sent them: the server moves
// every sample by the difference to its own clock, so a host whose clock is
// off still lands its samples in the right minute.
type SubmitTaskStatsRequest struct {
	Cluster              string            `json:"cluster"`
	ContainerInstanceArn string            `json:"containerInstanceArn"`
	SentAt               time.Time         `json:"sentAt"`
	Samples              []TaskStatsSample `json:"samples"`
}

// TaskStatsSample is one task's usage over one sampling interval ending at
// Time, summed over its running containers: CPU as the average number of
// CPU units busy over the interval (1024 per core), memory as MiB in use at
// the end of it (without reclaimable page cache).
type TaskStatsSample struct {
	TaskArn   string    `json:"taskArn"`
	Time      time.Time `json:"time"`
	CPUUnits  float64   `json:"cpuUnits"`
	MemoryMiB float64   `json:"memoryMiB"`
}

// SubmitTaskStatsResponse says how many samples the server kept; it drops
// those of tasks not (or no longer) on the reporting instance.
type SubmitTaskStatsResponse struct {
	Accepted int `json:"accepted"`
}
