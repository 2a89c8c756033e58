package cql_test

import (
	"fmt"

	"github.com/wharf-ecs/wharf/internal/scheduler/cql"
)

func Example() {
	e, err := cql.Parse("attribute:ecs.instance-type =~ t2.* AND not(task:group == service:database)")
	if err != nil {
		panic(err)
	}
	fmt.Println(e)
	fmt.Println(e.Eval(cql.Instance{
		Attributes: map[string]string{"ecs.instance-type": "t2.small"},
		TaskGroups: []string{"service:web"},
	}))

	_, err = cql.Parse("attribute:ecs.instance-type t2.small")
	fmt.Println(err)
	// Output:
	// attribute:ecs.instance-type =~ t2.* and not(task:group == service:database)
	// true
	// expected an operator after attribute:ecs.instance-type at column 29, got 't2.small'
}
