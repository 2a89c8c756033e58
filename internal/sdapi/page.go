package sdapi

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// A NextToken is the operation and the last key a page returned, so that a
// listing resumes right after it while resources come and go, and one
// operation's token cannot steer another's listing.

func pageLimit(max *int32, def, most int32) (int, error) {
	if max == nil {
		return int(def), nil
	}
	if *max < 1 || *max > most {
		return 0, invalid("MaxResults must be from 1 to %d; got %d.", most, *max)
	}
	return int(*max), nil
}

// scanPage walks the documents under prefix from a token, keeping those
// match accepts, up to limit; the next token is "" once nothing more matches.
func scanPage[T any](ctx context.Context, st store.Store, op, prefix, token string, limit int, match func(*T) bool) ([]*T, string, error) {
	after := ""
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		o, last, ok := strings.Cut(string(b), "\x00")
		if err != nil || !ok || o != op || !strings.HasPrefix(last, prefix) {
			return nil, "", invalid("The NextToken is not valid: pass the NextToken of the previous answer to the same operation, unchanged.")
		}
		after = last
	}
	const batch = 500
	var kept []*T
	last := ""
	for {
		items, _, err := state.List[T](ctx, st, prefix, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			if !match(it.Val) {
				continue
			}
			if len(kept) == limit {
				return kept, base64.RawURLEncoding.EncodeToString([]byte(op + "\x00" + last)), nil
			}
			kept, last = append(kept, it.Val), it.Key
		}
		if len(items) < batch {
			return kept, "", nil
		}
		after = items[len(items)-1].Key
	}
}
