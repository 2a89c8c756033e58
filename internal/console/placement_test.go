package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// A task's placement page explains, instance by instance, where it would be
// placed today and why; the task page links to it.
func TestPlacementPage(t *testing.T) {
	e := start(t)
	e.simAgent(t, "prod", "us-east-1a")
	e.fixture(t, "prod", 1)
	var taskID string
	waitUntil(t, "the service's task running", func() bool {
		ts := e.runningTasks(t, "prod", "web")
		if len(ts) == 1 {
			arn := aws.ToString(ts[0].TaskArn)
			taskID = arn[strings.LastIndexByte(arn, '/')+1:]
			return true
		}
		return false
	})
	b := newBrowser(t, e.URL())
	b.signIn(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	task := "/console/clusters/prod/tasks/" + taskID
	wantBody(t, "the task page", b.get(task), task+"/placement")
	p := b.get(task + "/placement")
	wantStatus(t, "the placement page", p, http.StatusOK)
	wantBody(t, "the placement page", p, "It would be placed on", "chosen", "256 CPU units", "spread(attribute:ecs.availability-zone)")
}
