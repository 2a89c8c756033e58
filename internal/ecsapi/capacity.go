package ecsapi

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Capacity providers. An Auto Scaling group provider is an account-wide
// record (capacityproviders/NAME) that serves one cluster at a time once
// PutClusterCapacityProviders (or CreateCluster) associates it; its
// autoScalingGroupArn is kept as given, because Wharf's instances come from
// the server's instance launcher, not from an Auto Scaling group. FARGATE
// and FARGATE_SPOT are built in: every cluster may associate them, and they
// cannot be created, updated, tagged or deleted.

func (a *API) registerCapacityProviders(s *awsproto.Service) {
	awsproto.Handle(s, "CreateCapacityProvider", a.CreateCapacityProvider)
	awsproto.Handle(s, "UpdateCapacityProvider", a.UpdateCapacityProvider)
	awsproto.Handle(s, "DeleteCapacityProvider", a.DeleteCapacityProvider)
	awsproto.Handle(s, "DescribeCapacityProviders", a.DescribeCapacityProviders)
	awsproto.Handle(s, "PutClusterCapacityProviders", a.PutClusterCapacityProviders)
}

const (
	providerFargate     = "FARGATE"
	providerFargateSpot = "FARGATE_SPOT"
	// Managed scaling's defaults and bounds (ManagedScaling in the API reference).
	defaultTargetCapacity = 100
	defaultMaxStep        = 10000
	defaultWarmup         = 300
	maxStepSize           = 10000
	maxWarmup             = 10000
	// maxDescribeProviders is DescribeCapacityProviders' page size bound.
	maxDescribeProviders = 10
)

func isFargateProvider(name string) bool {
	return name == providerFargate || name == providerFargateSpot
}

// CapacityProvider is arn:aws:ecs:REGION:ACCOUNT:capacity-provider/NAME.
func (a ARNs) CapacityProvider(name string) string { return a.prefix() + "capacity-provider/" + name }

// providerName accepts a capacity provider's short name or ARN.
func providerName(ref string) (string, error) {
	if strings.HasPrefix(ref, "arn:") {
		p, err := ParseARN(ref)
		if err != nil || p.Type != "capacity-provider" || len(p.Parts) != 1 {
			return "", invalidParam("Invalid capacity provider %q: give a name or an ARN of the form arn:aws:ecs:REGION:ACCOUNT:capacity-provider/NAME.", ref)
		}
		ref = p.Parts[0]
	}
	if !validName(ref) {
		return "", invalidParam("Invalid capacity provider name %q: up to 255 letters, numbers, underscores and hyphens.", ref)
	}
	return ref, nil
}

func providerNotFound(name string) error {
	return invalidParam("The specified capacity provider does not exist: %s. Create it with CreateCapacityProvider, or use FARGATE or FARGATE_SPOT.", name)
}

// builtinProvider is the shape DescribeCapacityProviders shows for FARGATE
// and FARGATE_SPOT.
func (a *API) builtinProvider(name string) model.CapacityProvider {
	return model.CapacityProvider{CapacityProviderArn: a.arns.CapacityProvider(name), Name: name,
		Status: model.CapacityProviderStatusActive, Tags: []model.Tag{}}
}

// validateManagedScaling checks ManagedScaling's bounds; nil is valid.
func validateManagedScaling(m *model.ManagedScaling) error {
	if m == nil {
		return nil
	}
	if m.Status != "" && !m.Status.Valid() {
		return invalidParam("Invalid managedScaling status %q: use ENABLED or DISABLED.", m.Status)
	}
	if v := m.TargetCapacity; v != nil && (*v < 1 || *v > 100) {
		return invalidParam("managedScaling targetCapacity must be between 1 and 100 (percent); got %d.", *v)
	}
	for _, s := range []struct {
		name string
		v    *int32
	}{{"minimumScalingStepSize", m.MinimumScalingStepSize}, {"maximumScalingStepSize", m.MaximumScalingStepSize}} {
		if s.v != nil && (*s.v < 1 || *s.v > maxStepSize) {
			return invalidParam("managedScaling %s must be between 1 and %d; got %d.", s.name, maxStepSize, *s.v)
		}
	}
	if m.MinimumScalingStepSize != nil && m.MaximumScalingStepSize != nil && *m.MinimumScalingStepSize > *m.MaximumScalingStepSize {
		return invalidParam("managedScaling minimumScalingStepSize (%d) cannot be greater than maximumScalingStepSize (%d).", *m.MinimumScalingStepSize, *m.MaximumScalingStepSize)
	}
	if v := m.InstanceWarmupPeriod; v != nil && (*v < 0 || *v > maxWarmup) {
		return invalidParam("managedScaling instanceWarmupPeriod must be between 0 and %d seconds; got %d.", maxWarmup, *v)
	}
	return nil
}

// mergeManagedScaling is have with what set gives, every default filled in.
// A managedScaling given without a status turns scaling on: the caller asked
// for scaling settings.
func mergeManagedScaling(have, set *model.ManagedScaling) *model.ManagedScaling {
	out := &model.ManagedScaling{Status: model.ManagedScalingStatusDisabled}
	if have != nil {
		out = model.Clone(have)
	}
	if set != nil {
		out.Status = model.ManagedScalingStatusEnabled
		if set.Status != "" {
			out.Status = set.Status
		}
		if set.TargetCapacity != nil {
			out.TargetCapacity = model.Ptr(*set.TargetCapacity)
		}
		if set.MinimumScalingStepSize != nil {
			out.MinimumScalingStepSize = model.Ptr(*set.MinimumScalingStepSize)
		}
		if set.MaximumScalingStepSize != nil {
			out.MaximumScalingStepSize = model.Ptr(*set.MaximumScalingStepSize)
		}
		if set.InstanceWarmupPeriod != nil {
			out.InstanceWarmupPeriod = model.Ptr(*set.InstanceWarmupPeriod)
		}
	}
	if out.TargetCapacity == nil {
		out.TargetCapacity = model.Ptr(int32(defaultTargetCapacity))
	}
	if out.MinimumScalingStepSize == nil {
		out.MinimumScalingStepSize = model.Ptr(int32(1))
	}
	if out.MaximumScalingStepSize == nil {
		out.MaximumScalingStepSize = model.Ptr(int32(defaultMaxStep))
	}
	if out.InstanceWarmupPeriod == nil {
		out.InstanceWarmupPeriod = model.Ptr(int32(defaultWarmup))
	}
	return out
}

// checkProtection applies ECS's rule: managed termination protection needs
// managed scaling.
func checkProtection(p *model.AutoScalingGroupProvider) error {
	if p.ManagedTerminationProtection == model.ManagedTerminationProtectionEnabled && p.ManagedScaling.Status != model.ManagedScalingStatusEnabled {
		return invalidParam("The managed termination protection setting for the capacity provider is invalid: managed termination protection needs managed scaling. Turn managedScaling on (status ENABLED) or set managedTerminationProtection to DISABLED.")
	}
	return nil
}

func (a *API) CreateCapacityProvider(ctx context.Context, in *model.CreateCapacityProviderRequest) (*model.CreateCapacityProviderResponse, error) {
	if in.Name == "" {
		return nil, invalidParam("name is required: up to 255 letters, numbers, underscores and hyphens.")
	}
	if !validName(in.Name) {
		return nil, invalidParam("Invalid capacity provider name %q: up to 255 letters, numbers, underscores and hyphens.", in.Name)
	}
	for _, p := range []string{"aws", "ecs", "fargate"} {
		if strings.HasPrefix(strings.ToLower(in.Name), p) {
			return nil, invalidParam("Invalid capacity provider name %q: a name cannot begin with \"aws\", \"ecs\" or \"fargate\".", in.Name)
		}
	}
	if in.ManagedInstancesProvider != nil {
		return nil, awsproto.Errorf(codeUnsupportedFeature, "Amazon ECS Managed Instances capacity providers are not supported by Wharf; give autoScalingGroupProvider instead (its instances come from the server's instance launcher).")
	}
	asg := in.AutoScalingGroupProvider
	if asg == nil || asg.AutoScalingGroupArn == "" {
		return nil, invalidParam("autoScalingGroupProvider.autoScalingGroupArn is required. Wharf starts the provider's instances with its own instance launcher; give any ARN or name that identifies the group to you, e.g. arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/%s.", in.Name)
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := validateASGProvider(asg.ManagedScaling, asg.ManagedTerminationProtection, asg.ManagedDraining); err != nil {
		return nil, err
	}
	if in.Cluster != "" {
		if _, _, err := a.activeCluster(ctx, in.Cluster); err != nil {
			return nil, err
		}
	}
	p := model.AutoScalingGroupProvider{
		AutoScalingGroupArn:          asg.AutoScalingGroupArn,
		ManagedScaling:               mergeManagedScaling(nil, asg.ManagedScaling),
		ManagedTerminationProtection: asg.ManagedTerminationProtection,
		ManagedDraining:              asg.ManagedDraining,
	}
	if p.ManagedTerminationProtection == "" {
		p.ManagedTerminationProtection = model.ManagedTerminationProtectionDisabled
	}
	if p.ManagedDraining == "" {
		p.ManagedDraining = model.ManagedDrainingEnabled
	}
	if err := checkProtection(&p); err != nil {
		return nil, err
	}
	key := state.CapacityProviderKey(in.Name)
	var out model.CapacityProvider
	err := retry(ctx, func() error {
		cur, rev, err := state.Get[state.CapacityProvider](ctx, a.st, key)
		switch {
		case err == nil && cur.Status != model.CapacityProviderStatusInactive:
			return clientErr("The specified capacity provider already exists: %s. Change it with UpdateCapacityProvider, or choose another name.", in.Name)
		case err != nil && !isNotFound(err):
			return err
		}
		others, _, err := state.List[state.CapacityProvider](ctx, a.st, state.CapacityProvidersPrefix, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.Val.Name != in.Name && o.Val.Status != model.CapacityProviderStatusInactive &&
				o.Val.AutoScalingGroupProvider != nil && o.Val.AutoScalingGroupProvider.AutoScalingGroupArn == asg.AutoScalingGroupArn {
				return clientErr("The specified Auto Scaling group %s is already used by capacity provider %s; each capacity provider needs a group of its own.", asg.AutoScalingGroupArn, o.Val.Name)
			}
		}
		rec := state.CapacityProvider{CapacityProvider: model.CapacityProvider{
			CapacityProviderArn:      a.arns.CapacityProvider(in.Name),
			Name:                     in.Name,
			Status:                   model.CapacityProviderStatusActive,
			AutoScalingGroupProvider: model.Clone(&p),
			Tags:                     slices.Clone(in.Tags),
			Type:                     model.CapacityProviderTypeEc2Autoscaling,
		}}
		if _, err := a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, rec)}}); err != nil {
			return err
		}
		out = rec.CapacityProvider
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.CreateCapacityProviderResponse{CapacityProvider: &out}, nil
}

// validateASGProvider checks the enums and managed scaling of an Auto
// Scaling group provider (create or update).
func validateASGProvider(ms *model.ManagedScaling, mtp model.ManagedTerminationProtection, md model.ManagedDraining) error {
	if err := validateManagedScaling(ms); err != nil {
		return err
	}
	if mtp != "" && !mtp.Valid() {
		return invalidParam("Invalid managedTerminationProtection %q: use ENABLED or DISABLED.", mtp)
	}
	if md != "" && !md.Valid() {
		return invalidParam("Invalid managedDraining %q: use ENABLED or DISABLED.", md)
	}
	return nil
}

// updateProvider applies fn to a stored, ACTIVE capacity provider.
func (a *API) updateProvider(ctx context.Context, ref string, fn func(p *state.CapacityProvider) error) (*model.CapacityProvider, error) {
	name, err := providerName(ref)
	if err != nil {
		return nil, err
	}
	if isFargateProvider(name) {
		return nil, invalidParam("The %s capacity provider is reserved by ECS and cannot be changed or deleted; disassociate it from a cluster with PutClusterCapacityProviders.", name)
	}
	key := state.CapacityProviderKey(name)
	var out model.CapacityProvider
	err = retry(ctx, func() error {
		p, rev, err := state.Get[state.CapacityProvider](ctx, a.st, key)
		if isNotFound(err) || err == nil && p.Status == model.CapacityProviderStatusInactive {
			return providerNotFound(name)
		}
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if _, err := a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, p)}}); err != nil {
			return err
		}
		out = p.CapacityProvider
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (a *API) UpdateCapacityProvider(ctx context.Context, in *model.UpdateCapacityProviderRequest) (*model.UpdateCapacityProviderResponse, error) {
	if in.Name == "" {
		return nil, invalidParam("name is required: the name of the capacity provider to update.")
	}
	if in.ManagedInstancesProvider != nil {
		return nil, awsproto.Errorf(codeUnsupportedFeature, "Amazon ECS Managed Instances capacity providers are not supported by Wharf.")
	}
	u := in.AutoScalingGroupProvider
	if u == nil {
		return nil, invalidParam("autoScalingGroupProvider is required: give the managedScaling, managedTerminationProtection or managedDraining to change.")
	}
	if err := validateASGProvider(u.ManagedScaling, u.ManagedTerminationProtection, u.ManagedDraining); err != nil {
		return nil, err
	}
	p, err := a.updateProvider(ctx, in.Name, func(p *state.CapacityProvider) error {
		asg := model.Clone(p.AutoScalingGroupProvider)
		if u.ManagedScaling != nil {
			asg.ManagedScaling = mergeManagedScaling(asg.ManagedScaling, u.ManagedScaling)
		}
		if u.ManagedTerminationProtection != "" {
			asg.ManagedTerminationProtection = u.ManagedTerminationProtection
		}
		if u.ManagedDraining != "" {
			asg.ManagedDraining = u.ManagedDraining
		}
		if err := checkProtection(asg); err != nil {
			return err
		}
		p.AutoScalingGroupProvider = asg
		p.UpdateStatus = model.CapacityProviderUpdateStatusUpdateComplete
		p.UpdateStatusReason = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.UpdateCapacityProviderResponse{CapacityProvider: p}, nil
}

func (a *API) DeleteCapacityProvider(ctx context.Context, in *model.DeleteCapacityProviderRequest) (*model.DeleteCapacityProviderResponse, error) {
	if in.CapacityProvider == "" {
		return nil, invalidParam("capacityProvider is required: the name or ARN of the capacity provider to delete.")
	}
	p, err := a.updateProvider(ctx, in.CapacityProvider, func(p *state.CapacityProvider) error {
		if p.AssociatedCluster != "" {
			c, _, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(p.AssociatedCluster))
			if err == nil && c.Status != clusterInactive && slices.Contains(c.CapacityProviders, p.Name) {
				return clientErr("The capacity provider %s cannot be deleted while it is associated with cluster %s: remove it from the cluster with PutClusterCapacityProviders first.", p.Name, p.AssociatedCluster)
			}
			if err != nil && !isNotFound(err) {
				return err
			}
		}
		p.AssociatedCluster = ""
		p.Status = model.CapacityProviderStatusInactive
		p.UpdateStatus = model.CapacityProviderUpdateStatusDeleteComplete
		p.UpdateStatusReason = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteCapacityProviderResponse{CapacityProvider: p}, nil
}

func (a *API) DescribeCapacityProviders(ctx context.Context, in *model.DescribeCapacityProvidersRequest) (*model.DescribeCapacityProvidersResponse, error) {
	if len(in.CapacityProviders) > 100 {
		return nil, invalidParam("DescribeCapacityProviders takes at most 100 capacity providers; got %d.", len(in.CapacityProviders))
	}
	limit := maxDescribeProviders
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxDescribeProviders {
			return nil, invalidParam("maxResults must be between 1 and %d; got %d.", maxDescribeProviders, *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	tags := false
	for _, f := range in.Include {
		if !f.Valid() {
			return nil, invalidParam("Invalid include value %q: use TAGS.", f)
		}
		tags = true
	}
	var inCluster []string
	if in.Cluster != "" {
		c, _, err := a.activeCluster(ctx, in.Cluster)
		if err != nil {
			return nil, err
		}
		inCluster = c.CapacityProviders
	}
	stored, _, err := state.List[state.CapacityProvider](ctx, a.st, state.CapacityProvidersPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	byName := map[string]model.CapacityProvider{}
	for _, n := range []string{providerFargate, providerFargateSpot} {
		byName[n] = a.builtinProvider(n)
	}
	for _, it := range stored {
		byName[it.Val.Name] = a.providerShape(it.Val)
	}
	out := &model.DescribeCapacityProvidersResponse{CapacityProviders: []model.CapacityProvider{}, Failures: []model.Failure{}}
	var names []string
	if len(in.CapacityProviders) == 0 {
		for n, p := range byName {
			if p.Status != model.CapacityProviderStatusInactive && (in.Cluster == "" || slices.Contains(inCluster, n)) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
	} else {
		for _, ref := range in.CapacityProviders {
			n, err := providerName(ref)
			if err != nil {
				out.Failures = append(out.Failures, model.Failure{Arn: ref, Reason: reasonMissing, Detail: "not a capacity provider name or ARN"})
				continue
			}
			if _, ok := byName[n]; !ok || in.Cluster != "" && !slices.Contains(inCluster, n) {
				out.Failures = append(out.Failures, model.Failure{Arn: a.arns.CapacityProvider(n), Reason: reasonMissing})
				continue
			}
			names = append(names, n)
		}
	}
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, invalidParam("Invalid nextToken: pass the nextToken from the previous response unchanged.")
		}
		start = slices.IndexFunc(names, func(n string) bool { return n > string(b) })
		if start < 0 {
			start = len(names)
		}
	}
	end := min(start+limit, len(names))
	for _, n := range names[start:end] {
		p := byName[n]
		if !tags {
			p.Tags = nil
		}
		out.CapacityProviders = append(out.CapacityProviders, p)
	}
	if end < len(names) && end > start {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[end-1]))
	}
	return out, nil
}

// providerShape is the stored provider as the API shows it.
func (a *API) providerShape(p *state.CapacityProvider) model.CapacityProvider {
	out := *model.Clone(&p.CapacityProvider)
	if out.Tags == nil {
		out.Tags = []model.Tag{}
	}
	return out
}
