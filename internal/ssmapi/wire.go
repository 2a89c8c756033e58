package ssmapi

import "github.com/wharf-ecs/wharf/internal/model"

// The request and answer shapes of the operations served, with the member
// names of the SSM API (the aws-sdk-go-v2 ssm package's types). Only the
// members Wharf reads or writes are here; others in a request are ignored.

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type putParameterInput struct {
	Name           string  `json:"Name"`
	Value          *string `json:"Value"`
	Type           string  `json:"Type"`
	Description    *string `json:"Description"`
	KeyID          *string `json:"KeyId"`
	Overwrite      *bool   `json:"Overwrite"`
	AllowedPattern *string `json:"AllowedPattern"`
	Tags           []tag   `json:"Tags"`
	Tier           string  `json:"Tier"`
	Policies       *string `json:"Policies"`
	DataType       *string `json:"DataType"`
}

type putParameterOutput struct {
	Version int64  `json:"Version"`
	Tier    string `json:"Tier"`
}

type getParameterInput struct {
	Name           string `json:"Name"`
	WithDecryption *bool  `json:"WithDecryption"`
}

// parameter is the Parameter shape.
type parameter struct {
	Name             string      `json:"Name"`
	Type             string      `json:"Type"`
	Value            string      `json:"Value"`
	Version          int64       `json:"Version"`
	Selector         string      `json:"Selector,omitempty"`
	LastModifiedDate *model.Time `json:"LastModifiedDate,omitempty"`
	ARN              string      `json:"ARN"`
	DataType         string      `json:"DataType"`
}

type getParameterOutput struct {
	Parameter *parameter `json:"Parameter"`
}

type getParametersInput struct {
	Names          []string `json:"Names"`
	WithDecryption *bool    `json:"WithDecryption"`
}

type getParametersOutput struct {
	Parameters        []parameter `json:"Parameters"`
	InvalidParameters []string    `json:"InvalidParameters"`
}

// stringFilter is the ParameterStringFilter shape.
type stringFilter struct {
	Key    string   `json:"Key"`
	Option string   `json:"Option"`
	Values []string `json:"Values"`
}

// oldFilter is the deprecated ParametersFilter shape of DescribeParameters.
type oldFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type getParametersByPathInput struct {
	Path             string         `json:"Path"`
	Recursive        *bool          `json:"Recursive"`
	ParameterFilters []stringFilter `json:"ParameterFilters"`
	WithDecryption   *bool          `json:"WithDecryption"`
	MaxResults       *int32         `json:"MaxResults"`
	NextToken        string         `json:"NextToken"`
}

type getParametersByPathOutput struct {
	Parameters []parameter `json:"Parameters"`
	NextToken  string      `json:"NextToken,omitempty"`
}

type deleteParameterInput struct {
	Name string `json:"Name"`
}

type deleteParameterOutput struct{}

type deleteParametersInput struct {
	Names []string `json:"Names"`
}

type deleteParametersOutput struct {
	DeletedParameters []string `json:"DeletedParameters"`
	InvalidParameters []string `json:"InvalidParameters"`
}

type describeParametersInput struct {
	Filters          []oldFilter    `json:"Filters"`
	ParameterFilters []stringFilter `json:"ParameterFilters"`
	MaxResults       *int32         `json:"MaxResults"`
	NextToken        string         `json:"NextToken"`
	Shared           *bool          `json:"Shared"`
}

// parameterMetadata is the ParameterMetadata shape: everything but the value.
type parameterMetadata struct {
	Name             string        `json:"Name"`
	ARN              string        `json:"ARN"`
	Type             string        `json:"Type"`
	KeyID            string        `json:"KeyId,omitempty"`
	LastModifiedDate *model.Time   `json:"LastModifiedDate,omitempty"`
	LastModifiedUser string        `json:"LastModifiedUser,omitempty"`
	Description      string        `json:"Description,omitempty"`
	AllowedPattern   string        `json:"AllowedPattern,omitempty"`
	Version          int64         `json:"Version"`
	Tier             string        `json:"Tier"`
	Policies         []interface{} `json:"Policies"`
	DataType         string        `json:"DataType"`
}

type describeParametersOutput struct {
	Parameters []parameterMetadata `json:"Parameters"`
	NextToken  string              `json:"NextToken,omitempty"`
}

type getParameterHistoryInput struct {
	Name           string `json:"Name"`
	WithDecryption *bool  `json:"WithDecryption"`
	MaxResults     *int32 `json:"MaxResults"`
	NextToken      string `json:"NextToken"`
}

// parameterHistory is the ParameterHistory shape.
type parameterHistory struct {
	Name             string        `json:"Name"`
	Type             string        `json:"Type"`
	KeyID            string        `json:"KeyId,omitempty"`
	LastModifiedDate *model.Time   `json:"LastModifiedDate,omitempty"`
	LastModifiedUser string        `json:"LastModifiedUser,omitempty"`
	Description      string        `json:"Description,omitempty"`
	Value            string        `json:"Value"`
	AllowedPattern   string        `json:"AllowedPattern,omitempty"`
	Version          int64         `json:"Version"`
	Labels           []string      `json:"Labels"`
	Tier             string        `json:"Tier"`
	Policies         []interface{} `json:"Policies"`
	DataType         string        `json:"DataType"`
}

type getParameterHistoryOutput struct {
	Parameters []parameterHistory `json:"Parameters"`
	NextToken  string             `json:"NextToken,omitempty"`
}
