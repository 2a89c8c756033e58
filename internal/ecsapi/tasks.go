package ecsapi

import "github.com/wharf-ecs/wharf/internal/awsproto"

func (a *API) registerTasks(s *awsproto.Service) {}
