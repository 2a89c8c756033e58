package iam

import "strings"

// SSMParameterResource is the ARN of a Systems Manager parameter, the
// resource of ssm:GetParameter and its kin:
// arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, where a hierarchical name's
// leading "/" is dropped ("/app/db" → parameter/app/db), as SSM writes it.
// The name must already be validated as a parameter name (letters, digits
// and _.-/ only): a name holding * or ? would be taken literally here, but
// it is no name SSM would accept.
func SSMParameterResource(region, account, name string) string {
	return "arn:aws:ssm:" + region + ":" + account + ":parameter/" + strings.TrimPrefix(name, "/")
}
