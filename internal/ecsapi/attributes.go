package ecsapi

import "github.com/wharf-ecs/wharf/internal/awsproto"

func (a *API) registerAttributes(s *awsproto.Service) {}
