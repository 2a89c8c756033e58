package ecsapi

import "github.com/wharf-ecs/wharf/internal/awsproto"

func (a *API) registerTaskDefinitions(s *awsproto.Service) {}
