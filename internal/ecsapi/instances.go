package ecsapi

import "github.com/wharf-ecs/wharf/internal/awsproto"

func (a *API) registerContainerInstances(s *awsproto.Service) {}
