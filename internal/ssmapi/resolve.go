package ssmapi

import "context"

// Resolve returns the value, decrypted, of the parameter a task definition
// secret's valueFrom names: a parameter name ("/app/db-password" or
// "db-password", optionally with ":version") or the full ARN of a parameter
// of this region and account. A reference that cannot be served (a missing
// parameter, a Secrets Manager ARN, another region) is an *awsproto.Error
// whose message says what to do; any other error is the store's, and a retry
// may succeed.
func (a *API) Resolve(ctx context.Context, valueFrom string) (string, error) {
	r, err := a.parseRef(valueFrom)
	if err != nil {
		return "", err
	}
	p, err := a.find(ctx, r)
	if err != nil {
		return "", err
	}
	return a.value(p, true)
}
