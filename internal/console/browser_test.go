package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/chromedp/chromedp"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// The browser tests drive headless Chromium (Debian's chromium package,
// which scripts/test.sh installs) through the DevTools protocol. Without it
// they fail under CI=true and skip elsewhere. Screenshots of every step go
// to testdata/out/ (ignored by git) for review.

// chromiumPath finds the browser.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not on PATH; CI must install it (apt-get install chromium, as scripts/test.sh does)")
	}
	t.Skip("Chromium is not on PATH (apt-get install chromium); the browser tests need it")
	return ""
}

// tab is one browser tab on a test server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	out  string // screenshot folder
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // the test may run as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	out := filepath.Join("testdata", "out", t.Name())
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tab{t: t, ctx: ctx, base: base, out: out}
}

// do runs steps, bounded in time.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: %v (page text: %s)", what, err, b.text("body"))
	}
}

// text is the visible text of the first element sel matches, read in one
// evaluation (a live update may replace the element at any moment).
func (b *tab) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	q, _ := json.Marshal(sel)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+string(q)+`); return e ? e.innerText.trim() : "(no " + `+string(q)+` + ")"; })()`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(45*time.Second))(ctx, t)
		return err
	}))
}

// shot saves a full-page screenshot as NAME.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.out, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// visit opens a console path and waits for its heading.
func (b *tab) visit(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// submit clicks a button, which leaves the page, and waits until the next
// page has loaded.
func (b *tab) submit(what, button string) {
	b.t.Helper()
	b.do(what, chromedp.Evaluate[chromedp.Void](`window.__leaving = true`), chromedp.Click(chromedp.CSS(button)))
	b.settle(what)
}

// settle waits until a new page has replaced the one marked __leaving. An
// evaluation that fails because the page is navigating is retried.
func (b *tab) settle(what string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`window.__leaving === undefined && document.readyState === "complete" && !!document.querySelector("main h1")`))
		cancel()
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed")
			b.t.Fatalf("%s: the next page did not load (last error %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// confirm answers a confirmation page and waits for the result page's
// message.
func (b *tab) confirm(what, question, result string) {
	b.t.Helper()
	if q := b.text(".question"); !strings.Contains(q, question) {
		b.t.Fatalf("%s: the confirmation asks %q; want it to contain %q", what, q, question)
	}
	b.submit(what+": confirm", ".confirm button[type=submit]")
	if f := b.text(".flash"); !strings.Contains(f, result) {
		b.t.Fatalf("%s: the result says %q; want %q", what, f, result)
	}
}

func TestBrowserSignInScaleStopAndLogs(t *testing.T) {
	e := start(t)
	e.simAgent(t, "prod", "us-east-1a")
	e.simAgent(t, "prod", "us-east-1b")
	e.fixture(t, "prod", 1)
	waitUntil(t, "the service runs its task", func() bool { return len(e.runningTasks(t, "prod", "web")) == 1 })
	b := newTab(t, e.URL())

	// Sign in.
	b.visit("/console/clusters/prod")
	if loc := eval[string](b, "location.pathname"); loc != "/console/signin" {
		t.Fatalf("a signed-out visit landed on %s; want the sign-in page", loc)
	}
	b.shot("01-signin")
	b.do("fill in the key",
		chromedp.SendKeys(chromedp.ID("accessKeyId"), ecstest.TestAccessKeyID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), ecstest.TestSecretAccessKey))
	b.submit("sign in", "form.signin button[type=submit]")
	if loc := eval[string](b, "location.pathname"); loc != "/console/clusters/prod" {
		t.Fatalf("after sign-in the browser is at %s; want the page it asked for", loc)
	}

	// The cluster map: two instance boxes, the service's task in one.
	b.waitFor("the map's live updates start", `document.getElementById("live-status").dataset.state === "live"`)
	if n := eval[int](b, `document.querySelectorAll(".map .box").length`); n != 2 {
		t.Fatalf("the cluster map draws %d instances; want 2", n)
	}
	if n := eval[int](b, `document.querySelectorAll(".map .box .chips a.chip").length`); n != 1 {
		t.Fatalf("the cluster map shows %d tasks; want 1", n)
	}
	b.shot("02-cluster-map")

	// See the service.
	b.submit("open the service", `a[href="/console/clusters/prod/services/web"]`)
	if got := b.text(`[data-count="running"]`); got != "1" {
		t.Fatalf("the service page shows %s running; want 1", got)
	}
	b.shot("03-service")

	// Scale it to 3 and watch the running count change without a reload.
	b.do("ask for 3 tasks", chromedp.SetValue(chromedp.ID("desiredCount"), "3"))
	b.submit("update the desired count", `form[action$="/scale"] button[type=submit]`)
	b.shot("04-confirm-scale")
	b.confirm("scale", "from 1 to 3", "desired count set to 3")
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__samePage = true`))
	b.waitFor("the running count becomes 3 live", `document.querySelector('[data-count="running"]').textContent.trim() === "3"`)
	if !eval[bool](b, `window.__samePage === true && !!document.getElementById("live").dataset.updated`) {
		t.Fatal("the running count changed by a reload, not by a live update")
	}
	if n := len(e.runningTasks(t, "prod", "web")); n != 3 {
		t.Fatalf("the server runs %d tasks of the service; want 3", n)
	}
	b.shot("05-service-scaled")

	// Stop one of its tasks.
	victim := e.runningTasks(t, "prod", "web")[0]
	arn := aws.ToString(victim.TaskArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	b.visit("/console/clusters/prod/tasks/" + id)
	b.shot("06-task")
	b.submit("stop the task", `form[action$="/stop"] button[type=submit]`)
	b.confirm("stop", "Stop task "+id, "Task "+id+" is stopping.")
	b.waitFor("the task shows STOPPED live", `[...document.querySelectorAll("#live dd .chip")].some(c => c.textContent === "STOPPED")`)
	if got := b.text("#live"); !strings.Contains(got, "UserInitiated") || !strings.Contains(got, "Stopped by root from the Wharf console") {
		t.Fatalf("the stopped task's page lacks its stop code and reason:\n%s", got)
	}
	b.shot("07-task-stopped")

	// Its logs.
	b.visit("/console/clusters/prod/tasks/" + id + "/logs")
	// Before any output the stream is missing, or empty when the agent
	// has created it already.
	if got := b.text("#live"); !strings.Contains(got, "does not exist yet") && !strings.Contains(got, "is empty so far") {
		t.Fatalf("before any output the logs page says %q", got)
	}
	shipLogs(t, e, id)
	b.waitFor("the log lines show live", `document.querySelector("pre.log") && document.querySelector("pre.log").textContent.includes("hello from the console test")`)
	b.shot("08-logs")

	// The task definition, with its JSON.
	b.visit("/console/taskdefs/web/1")
	if got := b.text("pre.json"); !strings.Contains(got, `"family": "web"`) {
		t.Fatalf("the task definition's JSON view lacks its family:\n%s", got)
	}
	b.shot("09-taskdef")

	// The events of the cluster name the stop.
	b.visit("/console/clusters/prod/events")
	if got := b.text("#live"); !strings.Contains(got, id+" STOPPED (desired STOPPED), service:web; UserInitiated") || !strings.Contains(got, "event stream") {
		t.Fatalf("the events page lacks the task's stop:\n%s", got)
	}
	b.shot("10-events")
}

func TestBrowserActionsOnInstancesServicesAndTaskDefinitions(t *testing.T) {
	e := start(t)
	e.simAgent(t, "prod", "us-east-1a")
	e.fixture(t, "prod", 1)
	waitUntil(t, "the service runs its task", func() bool { return len(e.runningTasks(t, "prod", "web")) == 1 })
	b := newTab(t, e.URL())
	b.visit("/console/")
	b.do("fill in the key",
		chromedp.SendKeys(chromedp.ID("accessKeyId"), ecstest.TestAccessKeyID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), ecstest.TestSecretAccessKey))
	b.submit("sign in", "form.signin button[type=submit]")
	b.shot("01-clusters")

	// Keyboard: the first Tab stop is the skip link.
	b.do("press Tab", chromedp.KeyEvent("\t"))
	if got := eval[string](b, "document.activeElement.textContent"); got != "Skip to content" {
		t.Fatalf("the first Tab stop is %q; want the skip link", got)
	}

	// Force a new deployment.
	b.visit("/console/clusters/prod/services/web")
	b.submit("force a new deployment", `form[action$="/deploy"] button[type=submit]`)
	b.confirm("deploy", "Start a new deployment of service web", "new deployment started")
	b.waitFor("the rollout completes live", `(() => { const d = document.querySelectorAll("#live .deployments > li"); return d.length === 1 && d[0].textContent.includes("COMPLETED"); })()`)
	b.shot("02-deployed")

	// Drain the instance, then activate it again.
	b.visit("/console/clusters/prod")
	b.submit("open the instance", ".map .box h3 a")
	b.submit("drain", `form[action$="/state"] button[type=submit]`)
	b.confirm("drain", "Drain container instance", "is DRAINING")
	b.shot("03-instance-draining")
	b.submit("activate", `form[action$="/state"] button[type=submit]`)
	b.confirm("activate", "Activate container instance", "is ACTIVE")

	// Run a task from the task definition.
	b.visit("/console/taskdefs/web/1")
	b.do("choose the cluster", chromedp.SetValue(chromedp.ID("cluster"), "prod"))
	b.submit("run", `form[action$="/run"] button[type=submit]`)
	b.confirm("run", "Run 1 task(s) of web:1 in cluster prod?", "Started 1 task(s) in cluster prod")
	b.waitFor("the new task runs", `[...document.querySelectorAll("#live dd .chip")].some(c => c.textContent === "RUNNING")`)
	b.shot("04-run-task")

	// An action the API refuses shows its message: a count RunTask takes
	// but the instance has no room for.
	b.visit("/console/taskdefs/web/1")
	b.do("ask for 10", chromedp.SetValue(chromedp.ID("count"), "10"))
	b.submit("run 10", `form[action$="/run"] button[type=submit]`)
	b.submit("confirm run 10", ".confirm button[type=submit]")
	if got := b.text(".flash, .problem"); !strings.Contains(got, "Not placed") && !strings.Contains(got, "No task was started") {
		t.Fatalf("running more tasks than fit says %q", got)
	}
	b.shot("05-run-partly-refused")

	// A narrow screen: nothing wider than the viewport but the tables'
	// own scrolling boxes.
	b.do("narrow the window", chromedp.EmulateViewport(390, 844))
	for _, path := range []string{"/console/clusters/prod", "/console/clusters/prod/services/web"} {
		b.visit(path)
		if !eval[bool](b, `document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Errorf("%s is wider than a 390-pixel screen (%v px)", path, eval[int](b, "document.documentElement.scrollWidth"))
		}
	}
	b.shot("06-narrow-service")
	b.visit("/console/clusters/prod")
	b.shot("07-narrow-cluster")
}

// shipLogs writes the lines a container of task id would have shipped to
// its awslogs stream, as root, through the server's CloudWatch Logs API.
func shipLogs(t *testing.T, e *env, id string) {
	t.Helper()
	ctx := context.Background()
	c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.URL()),
		Credentials: ecstest.TestCredentials, RetryMaxAttempts: 1})
	group, stream := "/wharf/web", "web/app/"+id
	var exists *cwtypes.ResourceAlreadyExistsException
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil && !errors.As(err, &exists) {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil && !errors.As(err, &exists) {
		t.Fatalf("CreateLogStream: %v", err)
	}
	now := time.Now().UnixMilli()
	_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
		LogEvents: []cwtypes.InputLogEvent{
			{Timestamp: aws.Int64(now - 1), Message: aws.String("listening on :8080")},
			{Timestamp: aws.Int64(now), Message: aws.String("hello from the console test")},
		}})
	if err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
}
