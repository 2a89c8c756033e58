package ssmapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

func TestResolve(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/app/db-password"), Value: aws.String("s3cret"), Type: "SecureString"})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("/app/db-password"), Value: aws.String("s3cret-2"), Type: "SecureString", Overwrite: aws.Bool(true)})
	e.put(t, &ssm.PutParameterInput{Name: aws.String("token"), Value: aws.String("plain-token"), Type: "String"})

	for _, c := range []struct{ valueFrom, want string }{
		{"/app/db-password", "s3cret-2"},
		{"/app/db-password:1", "s3cret"},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/app/db-password", "s3cret-2"},
		{"token", "plain-token"},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/token", "plain-token"},
	} {
		got, err := e.api.Resolve(ctx, c.valueFrom)
		if err != nil || got != c.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", c.valueFrom, got, err, c.want)
		}
	}
	for _, c := range []struct{ valueFrom, code, says string }{
		{"/app/missing", "ParameterNotFound", "/app/missing"},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "ValidationException", "Wharf has no Secrets Manager; store the secret in its SSM Parameter Store"},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/app/db-password", "ValidationException", "eu-west-1"},
		{"arn:aws:ssm:us-east-1:210987654321:parameter/app/db-password", "ValidationException", "210987654321"},
		{"arn:aws:s3:::bucket/key", "ValidationException", "not a parameter ARN"},
		{"/app/db-password:9", "ParameterVersionNotFound", "version 9"},
		{"bad name!", "ValidationException", "bad name!"},
	} {
		_, err := e.api.Resolve(ctx, c.valueFrom)
		ae, ok := awsproto.AsError(err)
		if !ok || ae.Code != c.code || !strings.Contains(ae.Message, c.says) {
			t.Errorf("Resolve(%q) error = %v; want %s saying %q", c.valueFrom, err, c.code, c.says)
		}
	}
}

func TestResources(t *testing.T) {
	e := start(t)
	const p = "arn:aws:ssm:us-east-1:123456789012:parameter/"
	for _, c := range []struct {
		op, body string
		want     []string
	}{
		{"PutParameter", `{"Name":"/app/db","Value":"v"}`, []string{p + "app/db"}},
		{"GetParameter", `{"Name":"plain:3"}`, []string{p + "plain"}},
		{"GetParameter", `{"Name":"arn:aws:ssm:us-east-1:123456789012:parameter/app/db:2"}`, []string{p + "app/db"}},
		{"GetParameters", `{"Names":["/a","b"]}`, []string{p + "a", p + "b"}},
		{"DeleteParameters", `{"Names":["/a/b"]}`, []string{p + "a/b"}},
		{"GetParametersByPath", `{"Path":"/app/"}`, []string{p + "app"}},
		{"GetParametersByPath", `{"Path":"/"}`, []string{p}},
		{"DescribeParameters", `{}`, nil},
		{"GetParameter", `not json`, nil},
	} {
		got, err := e.api.Resources(c.op, []byte(c.body))
		if err != nil || strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("Resources(%s, %s) = %q, %v; want %q", c.op, c.body, got, err, c.want)
		}
	}
}
