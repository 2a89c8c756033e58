package ecsapi

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Page tokens are the last key a page returned, so a listing resumes exactly
// where it stopped even while documents are added or removed. The prefix is
// bound into the token so one listing's token cannot steer another.

func encodeToken(prefix, lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + "\x00" + lastKey))
}

func decodeToken(prefix, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", invalidParam("Invalid nextToken: pass the nextToken from the previous response unchanged.")
	}
	p, last, ok := strings.Cut(string(b), "\x00")
	if !ok || p != prefix || !strings.HasPrefix(last, prefix) {
		return "", invalidParam("Invalid nextToken: it belongs to a different listing; pass the nextToken from the previous response of the same request.")
	}
	return last, nil
}

// pageSize validates maxResults (1 to 100) and applies the default.
func pageSize(maxResults *int32, def int) (int, error) {
	if maxResults == nil {
		return def, nil
	}
	if *maxResults < 1 || *maxResults > 100 {
		return 0, invalidParam("maxResults must be between 1 and 100; got %d.", *maxResults)
	}
	return int(*maxResults), nil
}

// scan walks the keys under prefix from a page token and collects what match
// returns for each key it accepts, up to limit. It returns the token of the
// next page, or "" when nothing more matches (ECS omits nextToken on the last
// page, and paginators stop on it).
func scan[T any](ctx context.Context, st store.Store, prefix, token string, limit int, match func(kv store.KV) (T, bool, error)) ([]T, string, error) {
	after, err := decodeToken(prefix, token)
	if err != nil {
		return nil, "", err
	}
	const batch = 500
	var out []T
	lastTaken := ""
	for {
		kvs, _, err := st.List(ctx, prefix, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return nil, "", err
		}
		for _, kv := range kvs {
			v, ok, err := match(kv)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				continue
			}
			if len(out) == limit {
				return out, encodeToken(prefix, lastTaken), nil
			}
			out = append(out, v)
			lastTaken = kv.Key
		}
		if len(kvs) < batch {
			return out, "", nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
