package iam

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      Policy
	}{
		{
			name: "one statement object, strings",
			doc:  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}}`,
			want: Policy{Version: Version2012, Statements: []Statement{{Effect: Allow, Actions: []string{"ecs:Describe*"}, Resources: []string{"*"}}}},
		},
		{
			name: "list of statements, lists, Sid, Id, no Version",
			doc: `{"Id":"ops","Statement":[
				{"Sid":"Read1","Effect":"Allow","Action":["ecs:List*","ecs:Describe*"],"Resource":["arn:aws:ecs:*:*:cluster/prod","arn:aws:ecs:us-east-1:123456789012:service/prod/*"]},
				{"Effect":"Deny","NotAction":"ecs:Describe*","NotResource":"arn:aws:ecs:*:*:cluster/dev"}]}`,
			want: Policy{ID: "ops", Statements: []Statement{
				{Sid: "Read1", Effect: Allow, Actions: []string{"ecs:List*", "ecs:Describe*"},
					Resources: []string{"arn:aws:ecs:*:*:cluster/prod", "arn:aws:ecs:us-east-1:123456789012:service/prod/*"}},
				{Effect: Deny, Actions: []string{"ecs:Describe*"}, NotAction: true, Resources: []string{"arn:aws:ecs:*:*:cluster/dev"}, NotResource: true},
			}},
		},
		{
			name: "2008 version takes ${ literally",
			doc:  `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${x}"}]}`,
			want: Policy{Version: Version2008, Statements: []Statement{{Effect: Allow, Actions: []string{"*"}, Resources: []string{"arn:aws:s3:::b/${x}"}}}},
		},
		{
			name: "whitespace around everything",
			doc:  " \n{ \"Statement\" : [ { \"Effect\" : \"Deny\" , \"Action\" : [ \"ecs:*\" ] , \"Resource\" : \"*\" } ] } \n",
			want: Policy{Statements: []Statement{{Effect: Deny, Actions: []string{"ecs:*"}, Resources: []string{"*"}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatalf("Parse = %v; want success", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("Parse = %+v; want %+v", *got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"ecs:*","Resource":"*"`
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the error
	}{
		{"not JSON", `{"Statement":`, []string{"not valid JSON"}},
		{"not an object", `[]`, []string{"the policy is a list", "JSON object"}},
		{"trailing JSON", `{"Statement":{` + ok + `}} {}`, []string{"not valid JSON"}},
		{"empty", ``, []string{"not valid JSON"}},
		{"no Statement", `{"Version":"2012-10-17"}`, []string{"no Statement"}},
		{"empty Statement list", `{"Statement":[]}`, []string{"Statement list is empty"}},
		{"Statement string", `{"Statement":"x"}`, []string{"Statement is a string"}},
		{"bad Version", `{"Version":"2020-01-01","Statement":{` + ok + `}}`, []string{"Version", "2012-10-17"}},
		{"unknown top member", `{"Statement":{` + ok + `},"Extra":1}`, []string{`unknown member "Extra"`}},
		{"lower-case member", `{"statement":{` + ok + `}}`, []string{`"statement"`, `did you mean "Statement"`}},
		{"duplicate member", `{"Statement":{` + ok + `},"Statement":{` + ok + `}}`, []string{"Statement twice"}},
		{"null member", `{"Version":null,"Statement":{` + ok + `}}`, []string{"Version is null"}},
		{"statement not object", `{"Statement":[{` + ok + `}, 3]}`, []string{"Statement[1] is a number"}},
		{"Condition", `{"Statement":[{"Sid":"A1",` + ok + `,"Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`,
			[]string{`Statement[0] (Sid "A1") has a Condition`, "Remove it"}},
		{"Principal", `{"Statement":{` + ok + `,"Principal":"*"}}`, []string{"Statement has a Principal"}},
		{"NotPrincipal", `{"Statement":[{` + ok + `},{` + ok + `,"NotPrincipal":{"AWS":"x"}}]}`, []string{"Statement[1] has a NotPrincipal"}},
		{"unknown statement member", `{"Statement":{` + ok + `,"Effects":"Allow"}}`, []string{`unknown member "Effects"`}},
		{"case of statement member", `{"Statement":{"effect":"Allow","Action":"ecs:*","Resource":"*"}}`, []string{`did you mean "Effect"`}},
		{"no Effect", `{"Statement":{"Action":"ecs:*","Resource":"*"}}`, []string{"no Effect"}},
		{"lower-case Effect value", `{"Statement":{"Effect":"allow","Action":"ecs:*","Resource":"*"}}`, []string{`Effect is "allow"`, `"Allow" or "Deny"`}},
		{"long Effect value cut short", `{"Statement":{"Effect":"` + strings.Repeat("x", 500) + `","Action":"ecs:*","Resource":"*"}}`, []string{`Effect is "xxx`, `x...: it must be`}},
		{"no Action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, []string{"no Action"}},
		{"no Resource", `{"Statement":{"Effect":"Allow","Action":"ecs:*"}}`, []string{"no Resource"}},
		{"Action and NotAction", `{"Statement":{` + ok + `,"NotAction":"ecs:RunTask"}}`, []string{"both Action and NotAction"}},
		{"Resource and NotResource", `{"Statement":{"NotResource":"*",` + ok + `}}`, []string{"both Resource and NotResource"}},
		{"empty Action list", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, []string{"Action is an empty list"}},
		{"empty Resource list", `{"Statement":{"Effect":"Allow","Action":"*","Resource":[]}}`, []string{"Resource is an empty list"}},
		{"Action number", `{"Statement":{"Effect":"Allow","Action":3,"Resource":"*"}}`, []string{"Action is a number"}},
		{"Action list of non-strings", `{"Statement":{"Effect":"Allow","Action":["ecs:*",null],"Resource":"*"}}`, []string{"Action[1] is null"}},
		{"empty action", `{"Statement":{"Effect":"Allow","Action":"","Resource":"*"}}`, []string{`Action "" is not an action`}},
		{"action without service", `{"Statement":{"Effect":"Allow","Action":"RunTask","Resource":"*"}}`, []string{`"RunTask" is not an action`}},
		{"wildcard service", `{"Statement":{"Effect":"Allow","Action":"e*:RunTask","Resource":"*"}}`, []string{"invalid service prefix"}},
		{"bad operation", `{"Statement":{"Effect":"Allow","Action":"ecs:Run Task","Resource":"*"}}`, []string{"invalid operation name"}},
		{"resource not an ARN", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"cluster/prod"}}`, []string{`Resource "cluster/prod" is neither "*" nor an ARN`}},
		{"short ARN", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:*"}}`, []string{"neither"}},
		{"policy variable", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:ecs:*:*:cluster/${aws:username}"}}`, []string{"NotResource", "policy variable"}},
		{"Sid with punctuation", `{"Statement":{"Sid":"a b",` + ok + `}}`, []string{"Sid", "letters and digits"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%s) = %+v; want an error", tc.doc, p)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%s) error = %q; want it to contain %q", tc.doc, err, w)
				}
			}
		})
	}
}
