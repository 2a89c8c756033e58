package ssmapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Versions count up with each overwrite; without Overwrite an existing name
// is refused; an overwrite that leaves members out keeps them.
func TestPutOverwriteVersions(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if v := e.put(t, &ssm.PutParameterInput{Name: aws.String("/app/url"), Value: aws.String("http://a"), Type: types.ParameterTypeString, Description: aws.String("where")}); v != 1 {
		t.Fatalf("first version = %d; want 1", v)
	}
	_, err := e.client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/url"), Value: aws.String("http://b"), Type: types.ParameterTypeString})
	wantCode(t, "PutParameter without Overwrite", err, "ParameterAlreadyExists")

	// Type may be left out when overwriting; the description stays.
	if v := e.put(t, &ssm.PutParameterInput{Name: aws.String("/app/url"), Value: aws.String("http://b"), Overwrite: aws.Bool(true)}); v != 2 {
		t.Fatalf("overwrite version = %d; want 2", v)
	}
	got, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/url")})
	if err != nil {
		t.Fatal(err)
	}
	p := got.Parameter
	if aws.ToString(p.Value) != "http://b" || p.Version != 2 || p.Type != types.ParameterTypeString {
		t.Fatalf("GetParameter = %s v%d %s; want http://b v2 String", aws.ToString(p.Value), p.Version, p.Type)
	}
	if want := "arn:aws:ssm:us-east-1:123456789012:parameter/app/url"; aws.ToString(p.ARN) != want {
		t.Errorf("ARN = %s; want %s", aws.ToString(p.ARN), want)
	}
	if aws.ToString(p.DataType) != "text" || p.LastModifiedDate == nil || p.LastModifiedDate.IsZero() {
		t.Errorf("DataType %q, LastModifiedDate %v; want text and a time", aws.ToString(p.DataType), p.LastModifiedDate)
	}
	// The first version is still there, by selector.
	old, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/url:1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(old.Parameter.Value) != "http://a" || aws.ToString(old.Parameter.Selector) != ":1" {
		t.Errorf("/app/url:1 = %q selector %q; want http://a and :1", aws.ToString(old.Parameter.Value), aws.ToString(old.Parameter.Selector))
	}
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/url:7")})
	wantCode(t, "GetParameter of a missing version", err, "ParameterVersionNotFound")
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/url:prod")})
	wantCode(t, "GetParameter with a label", err, "ParameterVersionNotFound")

	desc, err := e.client.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Parameters) != 1 || aws.ToString(desc.Parameters[0].Description) != "where" || desc.Parameters[0].Version != 2 {
		t.Fatalf("DescribeParameters = %+v; want /app/url v2 described \"where\"", desc.Parameters)
	}
	if m := desc.Parameters[0]; m.Tier != types.ParameterTierStandard || aws.ToString(m.LastModifiedUser) != "arn:aws:iam::123456789012:root" {
		t.Errorf("tier %s, user %s; want Standard and the root user", m.Tier, aws.ToString(m.LastModifiedUser))
	}
}

// A SecureString is sealed at rest: no record in the store holds the value,
// GetParameter without decryption returns the sealed bytes, and with it the
// value.
func TestSecureStringSealedAtRest(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	const secret = "hunter2-correct-horse-battery-staple"
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/db/password"), Value: aws.String(secret), Type: types.ParameterTypeSecureString})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/db/password"), Value: aws.String(secret + "-v2"), Overwrite: aws.Bool(true)})

	for _, prefix := range []string{state.ParametersPrefix, state.ParameterVersionsPrefix} {
		kvs, _, err := e.st.List(ctx, prefix, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) == 0 {
			t.Fatalf("no records under %s", prefix)
		}
		for _, kv := range kvs {
			if strings.Contains(string(kv.Value), secret) || strings.Contains(string(kv.Value), base64.StdEncoding.EncodeToString([]byte(secret))) {
				t.Fatalf("record %s holds the plaintext: %s", kv.Key, kv.Value)
			}
		}
	}

	enc, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/db/password")})
	if err != nil {
		t.Fatal(err)
	}
	v := aws.ToString(enc.Parameter.Value)
	if strings.Contains(v, secret) {
		t.Fatalf("GetParameter without WithDecryption returned the plaintext")
	}
	if _, err := base64.StdEncoding.DecodeString(v); err != nil || v == "" {
		t.Errorf("encrypted value %q is not base64: %v", v, err)
	}
	dec, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/db/password"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(dec.Parameter.Value); got != secret+"-v2" || dec.Parameter.Type != types.ParameterTypeSecureString {
		t.Fatalf("decrypted value = %q (%s); want the second version's", got, dec.Parameter.Type)
	}
	v1, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/db/password:1"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(v1.Parameter.Value) != secret {
		t.Fatalf("version 1 decrypted = %v, %v; want the first value", v1, err)
	}
	desc, err := e.client.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if k := aws.ToString(desc.Parameters[0].KeyId); k != "alias/aws/ssm" {
		t.Errorf("KeyId = %q; want the default alias/aws/ssm", k)
	}

	// A sealed value moved to another parameter's record does not open.
	kv, err := e.st.Get(ctx, state.ParameterKey("/db/password"))
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(kv.Value), `"name":"/db/password"`, `"name":"/db/other"`, 1)
	if _, err := e.st.Commit(ctx, store.Txn{Ops: []store.Op{{Key: state.ParameterKey("/db/other"), Value: []byte(moved)}}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/db/other"), WithDecryption: aws.Bool(true)})
	wantCode(t, "decrypting a value sealed for another name", err, "InternalServerError")
}

func TestGetParametersAndARNs(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.put(t, &ssm.PutParameterInput{Name: aws.String("plain"), Value: aws.String("p"), Type: types.ParameterTypeString})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/a/b"), Value: aws.String("x,y"), Type: types.ParameterTypeStringList})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/top"), Value: aws.String("t"), Type: types.ParameterTypeString})

	out, err := e.client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{
		"plain", "arn:aws:ssm:us-east-1:123456789012:parameter/a/b", "/missing", "bad name", "plain", "/a/b:9",
		"arn:aws:ssm:eu-west-1:123456789012:parameter/a/b", "arn:aws:ssm:us-east-1:123456789012:parameter/top",
	}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range out.Parameters {
		names = append(names, aws.ToString(p.Name)+"="+aws.ToString(p.Value))
	}
	if want := []string{"/a/b=x,y", "/top=t", "plain=p"}; !slices.Equal(names, want) {
		t.Errorf("Parameters = %v; want %v (in name order, each once)", names, want)
	}
	if want := []string{"/missing", "bad name", "/a/b:9", "arn:aws:ssm:eu-west-1:123456789012:parameter/a/b"}; !slices.Equal(out.InvalidParameters, want) {
		t.Errorf("InvalidParameters = %q; want %q", out.InvalidParameters, want)
	}
	for _, p := range out.Parameters {
		if want := "arn:aws:ssm:us-east-1:123456789012:parameter/" + strings.TrimPrefix(aws.ToString(p.Name), "/"); aws.ToString(p.ARN) != want {
			t.Errorf("ARN of %s = %s; want %s", aws.ToString(p.Name), aws.ToString(p.ARN), want)
		}
	}
	_, err = e.client.GetParameters(ctx, &ssm.GetParametersInput{Names: strings.Fields("a b c d e f g h i j k")})
	wantCode(t, "GetParameters of 11 names", err, "ValidationException")
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
	wantCode(t, "GetParameter of a missing name", err, "ParameterNotFound")
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("arn:aws:ssm:us-east-1:999999999999:parameter/top")})
	wantCode(t, "GetParameter of another account's ARN", err, "ValidationException")
}

func TestPutValidation(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	deep := strings.Repeat("/l", 16)
	for _, c := range []struct {
		what string
		in   ssm.PutParameterInput
		code string
	}{
		{"reserved aws prefix", ssm.PutParameterInput{Name: aws.String("/AWS/x"), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"reserved ssm prefix", ssm.PutParameterInput{Name: aws.String("ssmThing"), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"not fully qualified", ssm.PutParameterInput{Name: aws.String("a/b"), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"empty level", ssm.PutParameterInput{Name: aws.String("/a//b"), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"trailing slash", ssm.PutParameterInput{Name: aws.String("/a/"), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"space inside", ssm.PutParameterInput{Name: aws.String("/a b"), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"too long", ssm.PutParameterInput{Name: aws.String("/" + strings.Repeat("n", 2048)), Value: aws.String("v"), Type: "String"}, "ValidationException"},
		{"16 levels", ssm.PutParameterInput{Name: aws.String(deep), Value: aws.String("v"), Type: "String"}, "HierarchyLevelLimitExceededException"},
		{"no type on create", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v")}, "ValidationException"},
		{"bad type", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v"), Type: "Secret"}, "ValidationException"},
		{"value too long", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String(strings.Repeat("v", 4097)), Type: "String"}, "ValidationException"},
		{"empty value", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String(""), Type: "String"}, "ValidationException"},
		{"nested parameter", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("{{ssm:/x}}"), Type: "String"}, "ValidationException"},
		{"advanced tier", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v"), Type: "String", Tier: types.ParameterTierAdvanced}, "ValidationException"},
		{"policies", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v"), Type: "String", Policies: aws.String(`[{"Type":"Expiration"}]`)}, "ValidationException"},
		{"data type", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("ami-1"), Type: "String", DataType: aws.String("aws:ec2:image")}, "ValidationException"},
		{"key id on a String", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v"), Type: "String", KeyId: aws.String("alias/mine")}, "ValidationException"},
		{"tags and overwrite", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v"), Type: "String", Overwrite: aws.Bool(true), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}, "ValidationException"},
		{"bad pattern", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("v"), Type: "String", AllowedPattern: aws.String("(")}, "InvalidAllowedPatternException"},
		{"pattern mismatch", ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("12a"), Type: "String", AllowedPattern: aws.String(`\d+`)}, "ParameterPatternMismatchException"},
	} {
		_, err := e.client.PutParameter(ctx, &c.in)
		wantCode(t, c.what, err, c.code)
	}
	// Nothing of that was stored.
	kvs, _, err := e.st.List(ctx, state.ParametersPrefix, store.ListOptions{})
	if err != nil || len(kvs) != 0 {
		t.Fatalf("store holds %d parameters after refused puts (err %v)", len(kvs), err)
	}
	// Spaces around a name are dropped; an allowed pattern is kept for later versions.
	e.put(t, &ssm.PutParameterInput{Name: aws.String("  /n  "), Value: aws.String("12"), Type: "String", AllowedPattern: aws.String(`\d+`), Tier: types.ParameterTierIntelligentTiering})
	_, err = e.client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("x"), Overwrite: aws.Bool(true)})
	wantCode(t, "overwrite against the kept pattern", err, "ParameterPatternMismatchException")
}

// SSM keeps the last 100 versions.
func TestVersionLimit(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	for i := 1; i <= 101; i++ {
		e.put(t, &ssm.PutParameterInput{Name: aws.String("/v"), Value: aws.String(fmt.Sprint(i)), Type: "String", Overwrite: aws.Bool(true)})
	}
	_, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/v:1")})
	wantCode(t, "the 101st version's oldest", err, "ParameterVersionNotFound")
	got, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/v:2")})
	if err != nil || aws.ToString(got.Parameter.Value) != "2" {
		t.Fatalf("/v:2 = %v, %v; want 2", got, err)
	}
	var versions []int64
	p := ssm.NewGetParameterHistoryPaginator(e.client, &ssm.GetParameterHistoryInput{Name: aws.String("/v"), MaxResults: aws.Int32(30)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Parameters {
			versions = append(versions, h.Version)
		}
	}
	if len(versions) != 100 || versions[0] != 2 || versions[99] != 101 {
		t.Fatalf("history has %d versions from %v to %v; want 100 from 2 to 101", len(versions), versions[0], versions[len(versions)-1])
	}
}

func TestDeleteParameters(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/d/one"), Value: aws.String("1"), Type: "String"})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/d/one"), Value: aws.String("2"), Type: "String", Overwrite: aws.Bool(true)})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/d/two"), Value: aws.String("2"), Type: "SecureString"})

	if _, err := e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/d/one")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/d/one")})
	wantCode(t, "second DeleteParameter", err, "ParameterNotFound")
	_, err = e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/d/two")})
	wantCode(t, "DeleteParameter by ARN", err, "ValidationException")
	// Versions went with it: the name starts over at version 1.
	if v := e.put(t, &ssm.PutParameterInput{Name: aws.String("/d/one"), Value: aws.String("new"), Type: "String"}); v != 1 {
		t.Errorf("recreated version = %d; want 1", v)
	}
	kvs, _, _ := e.st.List(ctx, state.ParameterVersionsOf("/d/one"), store.ListOptions{})
	if len(kvs) != 1 {
		t.Errorf("recreated parameter has %d version records; want 1", len(kvs))
	}

	out, err := e.client.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: []string{"/d/one", "/d/two", "/d/three", "bad name"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.DeletedParameters, []string{"/d/one", "/d/two"}) || !slices.Equal(out.InvalidParameters, []string{"/d/three", "bad name"}) {
		t.Errorf("DeleteParameters deleted %q, invalid %q", out.DeletedParameters, out.InvalidParameters)
	}
	for _, prefix := range []string{state.ParametersPrefix, state.ParameterVersionsPrefix} {
		if kvs, _, _ := e.st.List(ctx, prefix, store.ListOptions{}); len(kvs) != 0 {
			t.Errorf("%d records left under %s", len(kvs), prefix)
		}
	}
}

// Every operation of the SSM client is known, so that the ones Wharf does not
// serve answer UnsupportedFeatureException rather than UnknownOperation.
func TestOperationsMatchClient(t *testing.T) {
	e := start(t)
	ct := reflect.TypeOf(&ssm.Client{})
	var missing []string
	for i := 0; i < ct.NumMethod(); i++ {
		m := ct.Method(i)
		if m.Type.NumIn() < 3 || !strings.HasSuffix(m.Type.In(2).Elem().Name(), "Input") {
			continue
		}
		if !e.api.Service().Implemented(m.Name) && !ssmKnows(t, e, m.Name) {
			missing = append(missing, m.Name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("operations of the SSM client unknown to the service: %v", missing)
	}
	_, err := e.client.LabelParameterVersion(context.Background(), &ssm.LabelParameterVersionInput{Name: aws.String("/x"), Labels: []string{"l"}})
	wantCode(t, "LabelParameterVersion", err, "UnsupportedFeatureException")
}
