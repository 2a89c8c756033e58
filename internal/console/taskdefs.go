package console

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// Task definition pages: families, a family's revisions, one revision with
// its JSON and the form that runs it.

type familiesView struct {
	Status   string // ACTIVE or INACTIVE
	Families []string
	More     bool
}

func loadFamilies(q *rq) (string, any, error) {
	status, err := statusParam(q)
	if err != nil {
		return "", nil, err
	}
	fams, more, err := follow(maxListed, func(token string) ([]string, string, error) {
		var out model.ListTaskDefinitionFamiliesResponse
		err := q.api.ecs("ListTaskDefinitionFamilies", model.ListTaskDefinitionFamiliesRequest{
			Status: model.TaskDefinitionFamilyStatus(status), NextToken: token}, &out)
		return out.Families, out.NextToken, err
	})
	if err != nil {
		return "", nil, err
	}
	slices.Sort(fams)
	return "Task definitions", familiesView{Status: status, Families: fams, More: more}, nil
}

// statusParam reads ?status= of the task definition pages.
func statusParam(q *rq) (string, error) {
	switch s := q.r.URL.Query().Get("status"); s {
	case "", "ACTIVE":
		return "ACTIVE", nil
	case "INACTIVE":
		return s, nil
	default:
		return "", awsproto.Errorf("InvalidParameterException", "status %q: choose ACTIVE or INACTIVE.", clip(s))
	}
}

type familyView struct {
	Family    string
	Status    string
	Revisions []int
	More      bool
}

func loadFamily(q *rq) (string, any, error) {
	family := q.r.PathValue("family")
	status, err := statusParam(q)
	if err != nil {
		return "", nil, err
	}
	if !validName(family) {
		return "", nil, awsproto.Errorf("InvalidParameterException", "Invalid family %q: up to 255 letters, numbers, underscores and hyphens.", clip(family))
	}
	arns, more, err := follow(maxListed, func(token string) ([]string, string, error) {
		var out model.ListTaskDefinitionsResponse
		err := q.api.ecs("ListTaskDefinitions", model.ListTaskDefinitionsRequest{FamilyPrefix: family,
			Status: model.TaskDefinitionStatus(status), Sort: "DESC", NextToken: token}, &out)
		return out.TaskDefinitionArns, out.NextToken, err
	})
	if err != nil {
		return "", nil, err
	}
	v := familyView{Family: family, Status: status, More: more}
	for _, arn := range arns {
		// familyPrefix matches longer families too: keep this one's.
		f, rev, ok := strings.Cut(lastPart(arn), ":")
		n, err := strconv.Atoi(rev)
		if ok && err == nil && f == family {
			v.Revisions = append(v.Revisions, n)
		}
	}
	slices.SortFunc(v.Revisions, func(a, b int) int { return cmp.Compare(b, a) })
	return "Task definition " + family, v, nil
}

type taskDefView struct {
	Family   string
	Revision int
	Def      *model.TaskDefinition
	JSON     string
	Clusters []string // where it may be run, when the user may list them
}

func loadTaskDef(q *rq) (string, any, error) {
	family, rev, err := taskDefPath(q)
	if err != nil {
		return "", nil, err
	}
	td, err := q.api.taskDefinition(family + ":" + strconv.Itoa(rev))
	if err != nil {
		return "", nil, err
	}
	js, err := json.MarshalIndent(td, "", "  ")
	if err != nil {
		return "", nil, err
	}
	v := taskDefView{Family: family, Revision: rev, Def: td, JSON: string(js)}
	// The run form offers the clusters the user may list; without that
	// right it asks for a name instead.
	if cs, _, err := q.api.clusters(); err == nil {
		for _, c := range cs {
			if c.Status == "ACTIVE" {
				v.Clusters = append(v.Clusters, c.ClusterName)
			}
		}
		slices.Sort(v.Clusters)
	}
	return "Task definition " + family + ":" + strconv.Itoa(rev), v, nil
}

// taskDefPath reads {family} and {revision} from the path.
func taskDefPath(q *rq) (string, int, error) {
	family, revText := q.r.PathValue("family"), q.r.PathValue("revision")
	if !validName(family) {
		return "", 0, awsproto.Errorf("InvalidParameterException", "Invalid family %q: up to 255 letters, numbers, underscores and hyphens.", clip(family))
	}
	rev, err := strconv.Atoi(revText)
	if err != nil || rev < 1 {
		return "", 0, awsproto.Errorf("InvalidParameterException", "Invalid revision %q: a positive whole number.", clip(revText))
	}
	return family, rev, nil
}

// validName is an ECS name: up to 255 letters, digits, '_' and '-'.
func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
