package scheduler

// ECS's failure reasons for an instance that cannot take a task, as RunTask
// and StartTask report them per container instance.
const (
	ReasonCPU       = "RESOURCE:CPU"
	ReasonMemory    = "RESOURCE:MEMORY"
	ReasonPorts     = "RESOURCE:PORTS"
	ReasonGPU       = "RESOURCE:GPU"
	ReasonAgent     = "AGENT"
	ReasonAttribute = "ATTRIBUTE"
)

// Names of the checks, as Rejection.Check reports them.
const (
	CheckStatus           = "status"
	CheckAgent            = "agent"
	CheckLaunchType       = "launchType"
	CheckAttribute        = "attribute"
	CheckDistinctInstance = "distinctInstance"
	CheckMemberOf         = "memberOf"
	CheckCPU              = "cpu"
	CheckMemory           = "memory"
	CheckPorts            = "ports"
	CheckGPU              = "gpu"
)

// Plan is Place's answer.
type Plan struct {
	// Tasks has one entry per requested task, in order; the placed ones come
	// first, since a task that does not fit means no later one fits either.
	Tasks []Placement
	// Rejections says why each instance refused the first task left
	// unplaced, one entry per instance in ARN order; nil when every task was
	// placed (or there is no instance at all). It is what RunTask reports as
	// failures.
	Rejections []Rejection
}

// Placed is the number of tasks that found an instance.
func (p *Plan) Placed() int {
	n := 0
	for _, t := range p.Tasks {
		if t.ARN != "" {
			n++
		}
	}
	return n
}

// Placement is where one task goes.
type Placement struct {
	// ARN and ID name the chosen instance; both are "" when the task could
	// not be placed.
	ARN string
	ID  string
	// GPUs are the IDs of the instance's GPUs the task takes.
	GPUs []string
	// Rejections says why each instance that refused this task did, with
	// Request.Explain only.
	Rejections []Rejection
}

// Rejection says why one instance refused one task: the first check it
// failed, ECS's reason for that, and the figures in words.
type Rejection struct {
	ARN   string
	Check string // one of the Check constants
	// Reason is ECS's failure reason. It is "" for the status check: ECS
	// lists no failure for instances that are not ACTIVE, which it never
	// considers.
	Reason string
	Detail string // for example "needs 512 CPU units, has 256"
}
