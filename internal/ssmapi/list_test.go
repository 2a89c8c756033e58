package ssmapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// seed stores a small tree:
//
//	plain  /top  /app/a  /app/b(SecureString)  /app/db/user  /app/db/pass(SecureString)  /other/x
func seed(t *testing.T, e *env) {
	t.Helper()
	for _, p := range []struct{ name, typ, value string }{
		{"plain", "String", "p"},
		{"/top", "String", "t"},
		{"/app/a", "String", "a"},
		{"/app/b", "SecureString", "b-secret"},
		{"/app/db/user", "String", "admin"},
		{"/app/db/pass", "SecureString", "db-secret"},
		{"/other/x", "StringList", "1,2"},
	} {
		in := &ssm.PutParameterInput{Name: aws.String(p.name), Value: aws.String(p.value), Type: types.ParameterType(p.typ)}
		if p.name == "/app/a" {
			in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}
		}
		e.put(t, in)
	}
}

// byPath pages through GetParametersByPath with the SDK's paginator.
func byPath(t *testing.T, e *env, in *ssm.GetParametersByPathInput) []string {
	t.Helper()
	var got []string
	p := ssm.NewGetParametersByPathPaginator(e.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetParametersByPath %s: %v", aws.ToString(in.Path), err)
		}
		if in.MaxResults != nil && len(page.Parameters) > int(*in.MaxResults) {
			t.Fatalf("page of %d; MaxResults %d", len(page.Parameters), *in.MaxResults)
		}
		for _, p := range page.Parameters {
			got = append(got, aws.ToString(p.Name)+"="+aws.ToString(p.Value))
		}
	}
	return got
}

func TestGetParametersByPath(t *testing.T) {
	e := start(t)
	seed(t, e)
	for _, c := range []struct {
		what string
		in   ssm.GetParametersByPathInput
		want string
	}{
		{"one level", ssm.GetParametersByPathInput{Path: aws.String("/app"), WithDecryption: aws.Bool(true)}, "/app/a=a /app/b=b-secret"},
		{"trailing slash", ssm.GetParametersByPathInput{Path: aws.String("/app/"), WithDecryption: aws.Bool(true)}, "/app/a=a /app/b=b-secret"},
		{"recursive, decrypted, in pages of 1",
			ssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true), MaxResults: aws.Int32(1)},
			"/app/a=a /app/b=b-secret /app/db/pass=db-secret /app/db/user=admin"},
		{"top level holds plain names", ssm.GetParametersByPathInput{Path: aws.String("/")}, "/top=t plain=p"},
		{"everything", ssm.GetParametersByPathInput{Path: aws.String("/"), Recursive: aws.Bool(true), MaxResults: aws.Int32(3),
			ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"String", "StringList"}}}},
			"/app/a=a /app/db/user=admin /other/x=1,2 /top=t plain=p"},
		{"type filter", ssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
			ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Option: aws.String("Equals"), Values: []string{"SecureString"}}}},
			"/app/b=b-secret /app/db/pass=db-secret"},
		{"key id filter", ssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
			ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("KeyId"), Option: aws.String("BeginsWith"), Values: []string{"alias/aws"}}}},
			"/app/b=b-secret /app/db/pass=db-secret"},
		{"label filter (no labels)", ssm.GetParametersByPathInput{Path: aws.String("/app"),
			ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Label"), Values: []string{"prod"}}}}, ""},
		{"a parameter is not its own path", ssm.GetParametersByPathInput{Path: aws.String("/top")}, ""},
		{"no such path", ssm.GetParametersByPathInput{Path: aws.String("/nowhere"), Recursive: aws.Bool(true)}, ""},
	} {
		if got := strings.Join(byPath(t, e, &c.in), " "); got != c.want {
			t.Errorf("%s: got %q; want %q", c.what, got, c.want)
		}
	}
	// Without decryption a SecureString comes back sealed.
	for _, nv := range byPath(t, e, &ssm.GetParametersByPathInput{Path: aws.String("/app")}) {
		if strings.Contains(nv, "secret") {
			t.Errorf("GetParametersByPath without WithDecryption returned %q", nv)
		}
	}
	ctx := context.Background()
	for _, c := range []struct {
		what string
		in   ssm.GetParametersByPathInput
		code string
	}{
		{"no leading slash", ssm.GetParametersByPathInput{Path: aws.String("app")}, "ValidationException"},
		{"empty level", ssm.GetParametersByPathInput{Path: aws.String("/a//b")}, "ValidationException"},
		{"bad character", ssm.GetParametersByPathInput{Path: aws.String("/a*")}, "ValidationException"},
		{"too deep", ssm.GetParametersByPathInput{Path: aws.String(strings.Repeat("/x", 16))}, "HierarchyLevelLimitExceededException"},
		{"MaxResults 11", ssm.GetParametersByPathInput{Path: aws.String("/"), MaxResults: aws.Int32(11)}, "ValidationException"},
		{"garbage token", ssm.GetParametersByPathInput{Path: aws.String("/"), NextToken: aws.String("!!!")}, "InvalidNextToken"},
		{"Name filter", ssm.GetParametersByPathInput{Path: aws.String("/"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Name"), Values: []string{"x"}}}}, "InvalidFilterKey"},
		{"Label BeginsWith", ssm.GetParametersByPathInput{Path: aws.String("/"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Label"), Option: aws.String("BeginsWith"), Values: []string{"x"}}}}, "InvalidFilterOption"},
		{"bad type value", ssm.GetParametersByPathInput{Path: aws.String("/"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"Text"}}}}, "InvalidFilterValue"},
		{"no values", ssm.GetParametersByPathInput{Path: aws.String("/"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type")}}}, "InvalidFilterValue"},
	} {
		_, err := e.client.GetParametersByPath(ctx, &c.in)
		wantCode(t, c.what, err, c.code)
	}
	// A token of one operation does not steer another.
	page, err := e.client.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("DescribeParameters page: %v, token %v", err, page.NextToken)
	}
	_, err = e.client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/"), NextToken: page.NextToken})
	wantCode(t, "DescribeParameters' token in GetParametersByPath", err, "InvalidNextToken")
}

// describe pages through DescribeParameters and returns the names.
func describe(t *testing.T, e *env, in *ssm.DescribeParametersInput) []string {
	t.Helper()
	var got []string
	p := ssm.NewDescribeParametersPaginator(e.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("DescribeParameters: %v", err)
		}
		for _, m := range page.Parameters {
			got = append(got, aws.ToString(m.Name))
		}
	}
	return got
}

func TestDescribeParameters(t *testing.T) {
	e := start(t)
	seed(t, e)
	f := func(key, opt string, values ...string) types.ParameterStringFilter {
		sf := types.ParameterStringFilter{Key: aws.String(key), Values: values}
		if opt != "" {
			sf.Option = aws.String(opt)
		}
		return sf
	}
	for _, c := range []struct {
		what string
		in   ssm.DescribeParametersInput
		want string
	}{
		{"all, pages of 2", ssm.DescribeParametersInput{MaxResults: aws.Int32(2)}, "/app/a /app/b /app/db/pass /app/db/user /other/x /top plain"},
		{"name begins with", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Name", "BeginsWith", "/app/db", "pl")}}, "/app/db/pass /app/db/user plain"},
		{"name equals", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Name", "", "/top")}}, "/top"},
		{"name contains", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Name", "Contains", "db")}}, "/app/db/pass /app/db/user"},
		{"type and path", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Type", "Equals", "SecureString"), f("Path", "Recursive", "/app")}}, "/app/b /app/db/pass"},
		{"path one level", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Path", "", "/app", "/other")}}, "/app/a /app/b /other/x"},
		{"path top level", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Path", "OneLevel", "/")}}, "/top plain"},
		{"tier", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Tier", "", "Advanced")}}, ""},
		{"data type", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("DataType", "", "text"), f("Name", "BeginsWith", "/o")}}, "/other/x"},
		{"tag value", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("tag:team", "", "blue")}}, "/app/a"},
		{"tag key only", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("tag:team", "")}}, "/app/a"},
		{"old Name filter", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyName, Values: []string{"/app/d"}}}}, "/app/db/pass /app/db/user"},
		{"old Type filter", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyType, Values: []string{"StringList"}}}}, "/other/x"},
		{"shared", ssm.DescribeParametersInput{Shared: aws.Bool(true)}, ""},
	} {
		if got := strings.Join(describe(t, e, &c.in), " "); got != c.want {
			t.Errorf("%s: got %q; want %q", c.what, got, c.want)
		}
	}
	ctx := context.Background()
	for _, c := range []struct {
		what string
		in   ssm.DescribeParametersInput
		code string
	}{
		{"both filter forms", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: "Name", Values: []string{"a"}}}, ParameterFilters: []types.ParameterStringFilter{f("Type", "", "String")}}, "ValidationException"},
		{"unknown key", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Colour", "", "x")}}, "InvalidFilterKey"},
		{"Label", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Label", "", "x")}}, "InvalidFilterKey"},
		{"Contains on Type", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Type", "Contains", "S")}}, "InvalidFilterOption"},
		{"bad path value", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Path", "", "app")}}, "InvalidFilterValue"},
		{"bad tier value", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Tier", "", "Gold")}}, "InvalidFilterValue"},
		{"duplicate key", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{f("Type", "", "String"), f("Type", "", "SecureString")}}, "ValidationException"},
		{"old unknown key", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: "Path", Values: []string{"/a"}}}}, "InvalidFilterKey"},
		{"MaxResults 51", ssm.DescribeParametersInput{MaxResults: aws.Int32(51)}, "ValidationException"},
		{"garbage token", ssm.DescribeParametersInput{NextToken: aws.String("eyJvIjoiRGVzY3JpYmVQYXJhbWV0ZXJzIiwiYSI6Im5vcGUifQ")}, "InvalidNextToken"},
	} {
		_, err := e.client.DescribeParameters(ctx, &c.in)
		wantCode(t, c.what, err, c.code)
	}
}

// A listing resumes after the last key it returned even when parameters are
// added and removed between pages.
func TestPaginationUnderChange(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	for _, n := range []string{"/p/1", "/p/2", "/p/3", "/p/4"} {
		e.put(t, &ssm.PutParameterInput{Name: aws.String(n), Value: aws.String("v"), Type: "String"})
	}
	page1, err := e.client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/p"), MaxResults: aws.Int32(2)})
	if err != nil || page1.NextToken == nil {
		t.Fatalf("first page: %v, token %v", err, page1.NextToken)
	}
	if _, err := e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/p/2")}); err != nil {
		t.Fatal(err)
	}
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/p/0"), Value: aws.String("v"), Type: "String"})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/p/5"), Value: aws.String("v"), Type: "String"})
	page2, err := e.client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/p"), MaxResults: aws.Int32(10), NextToken: page1.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range page2.Parameters {
		names = append(names, aws.ToString(p.Name))
	}
	if want := []string{"/p/3", "/p/4", "/p/5"}; !slices.Equal(names, want) || page2.NextToken != nil {
		t.Fatalf("second page = %v (token %v); want %v and no token", names, page2.NextToken, want)
	}
}
