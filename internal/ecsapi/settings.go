package ecsapi

import "github.com/wharf-ecs/wharf/internal/awsproto"

func (a *API) registerAccountSettings(s *awsproto.Service) {}
