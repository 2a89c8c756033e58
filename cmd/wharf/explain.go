package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

func explainCmd() *cobra.Command {
	var af adminFlags
	var in agentproto.ExplainPlacementRequest
	var count int32
	var constraints, strategies []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain [TASK]",
		Short: "Say why each container instance would take or refuse a task, check by check",
		Long: `Explain placement: for a task (placed or not) or a launch you are about to make,
say for every container instance of the cluster whether it passes every
placement check, and if not which check refused it with the figures ("needs
512 CPU units, has 256"), and which instance the strategies choose. Nothing is
launched. A task is explained again from its task definition, overrides,
group and the placement it was launched with (or its service's), with its own
reservation given back to its instance.`,
		Example: `  wharf explain arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef --cluster prod
  wharf explain --cluster prod --task-definition web:3 --count 4 --constraint 'memberOf:attribute:disk == ssd' --strategy spread:attribute:ecs.availability-zone`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				in.Task = args[0]
			} else if in.TaskDefinition == "" {
				return fmt.Errorf("give a task to explain, or --task-definition for a launch")
			}
			if count > 0 {
				in.Count = model.Ptr(count)
			}
			for _, c := range constraints {
				pc, err := parseConstraintFlag(c)
				if err != nil {
					return err
				}
				in.PlacementConstraints = append(in.PlacementConstraints, pc)
			}
			for _, s := range strategies {
				typ, field, _ := strings.Cut(s, ":")
				in.PlacementStrategy = append(in.PlacementStrategy, model.PlacementStrategy{Type: model.PlacementStrategyType(typ), Field: field})
			}
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			var out agentproto.ExplainPlacementResponse
			if err := c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.ExplainPlacement, in, &out); err != nil {
				return fmt.Errorf("explain placement: %w", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printExplanation(cmd.OutOrStdout(), &out)
		},
	}
	af.add(cmd)
	f := cmd.Flags()
	f.StringVar(&in.Cluster, "cluster", "default", "cluster")
	f.StringVar(&in.TaskDefinition, "task-definition", "", "task definition (family, family:revision or ARN) of a launch to explain")
	f.Int32Var(&count, "count", 0, "tasks in the launch (default 1)")
	f.StringVar(&in.Group, "group", "", "task group of the launch")
	f.StringArrayVar(&constraints, "constraint", nil, "placement constraint: distinctInstance, or memberOf:EXPRESSION (repeatable)")
	f.StringArrayVar(&strategies, "strategy", nil, "placement strategy TYPE[:FIELD], e.g. binpack:memory, spread:attribute:ecs.availability-zone, random (repeatable, in order)")
	f.BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	return cmd
}

func parseConstraintFlag(s string) (model.PlacementConstraint, error) {
	typ, expr, _ := strings.Cut(s, ":")
	switch typ {
	case "distinctInstance":
		return model.PlacementConstraint{Type: model.PlacementConstraintTypeDistinctInstance}, nil
	case "memberOf":
		return model.PlacementConstraint{Type: model.PlacementConstraintTypeMemberOf, Expression: expr}, nil
	}
	return model.PlacementConstraint{}, fmt.Errorf("--constraint %q: use distinctInstance or memberOf:EXPRESSION", s)
}

func printExplanation(w io.Writer, out *agentproto.ExplainPlacementResponse) error {
	if out.Task != "" {
		fmt.Fprintf(w, "Task %s\n  runs on %s\n", out.Task, shortArn(out.RunsOn))
	}
	fmt.Fprintf(w, "Task definition %s: %d CPU units, %d MiB\n", out.TaskDefinitionArn, out.CPU, out.Memory)
	var cs, ss []string
	for _, c := range out.Constraints {
		cs = append(cs, strings.TrimSpace(string(c.Type)+" "+c.Expression))
	}
	for _, s := range out.Strategies {
		ss = append(ss, strings.TrimSuffix(string(s.Type)+"("+s.Field+")", "()"))
	}
	fmt.Fprintf(w, "Constraints: %s\nStrategies: %s\n", orNone(cs), orNone(ss))
	if out.Note != "" {
		fmt.Fprintln(w, out.Note)
	}
	for i, t := range out.Tasks {
		where := "fits on no instance"
		if t.ChosenInstanceArn != "" {
			where = "would be placed on " + shortArn(t.ChosenInstanceArn)
		}
		fmt.Fprintf(w, "\nTask %d of the launch %s:\n", i+1, where)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  INSTANCE\tVERDICT\tCHECK\tREASON\tDETAIL")
		for _, v := range t.Instances {
			verdict := "accepted"
			if v.Chosen {
				verdict = "chosen"
			} else if !v.Accepted {
				verdict = "refused"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", shortArn(v.ContainerInstanceArn), verdict, v.Check, v.Reason, v.Detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// shortArn drops the region and account of an instance ARN: CLUSTER/ID.
func shortArn(arn string) string {
	if i := strings.Index(arn, ":container-instance/"); i >= 0 {
		return arn[i+len(":container-instance/"):]
	}
	return arn
}
