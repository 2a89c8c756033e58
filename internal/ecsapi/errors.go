package ecsapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/store"
)

// ECS error shape names (ecs-service-2.json).
const (
	codeClient                 = "ClientException"
	codeInvalidParameter       = "InvalidParameterException"
	codeClusterNotFound        = "ClusterNotFoundException"
	codeServiceNotFound        = "ServiceNotFoundException"
	codeResourceNotFound       = "ResourceNotFoundException"
	codeConflict               = "ConflictException"
	codeLimitExceeded          = "LimitExceededException"
	codeUnsupportedFeature     = "UnsupportedFeatureException"
	codeTargetNotFound         = "TargetNotFoundException"
	codeAttributeLimitExceeded = "AttributeLimitExceededException"
)

func invalidParam(format string, args ...any) error {
	return awsproto.Errorf(codeInvalidParameter, format, args...)
}

func clientErr(format string, args ...any) error {
	return awsproto.Errorf(codeClient, format, args...)
}

func clusterNotFound(name string) error {
	return awsproto.Errorf(codeClusterNotFound, "Cluster not found: %s. Create it with CreateCluster, or check the name and region.", name)
}

func errServer(format string, args ...any) error {
	return &awsproto.Error{Code: awsproto.CodeServer, Message: fmt.Sprintf(format, args...), Status: http.StatusInternalServerError}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
