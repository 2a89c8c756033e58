package elbapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// Answers of the AWS Query protocol: XML in the service's namespace,
//
//	<ActionResponse xmlns="..."><ActionResult>...</ActionResult>
//	<ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></ActionResponse>
//
// lists as <Name><member>...</member></Name>, and errors as
//
//	<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>...</Code>
//	<Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>

// Namespace is the XML namespace of ELBv2 answers.
const Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// APIVersion is the Version parameter of ELBv2 requests.
const APIVersion = "2015-12-01"

// Error codes, as the ELBv2 model names them.
const (
	codeValidation              = "ValidationError"
	codeInvalidAction           = "InvalidAction"
	codeMissingAction           = "MissingAction"
	codeInternal                = "InternalFailure"
	codeDuplicateLoadBalancer   = "DuplicateLoadBalancerName"
	codeDuplicateTargetGroup    = "DuplicateTargetGroupName"
	codeDuplicateListener       = "DuplicateListener"
	codeLoadBalancerNotFound    = "LoadBalancerNotFound"
	codeTargetGroupNotFound     = "TargetGroupNotFound"
	codeListenerNotFound        = "ListenerNotFound"
	codeRuleNotFound            = "RuleNotFound"
	codeInvalidConfiguration    = "InvalidConfigurationRequest"
	codeInvalidTarget           = "InvalidTarget"
	codeResourceInUse           = "ResourceInUse"
	codePriorityInUse           = "PriorityInUse"
	codeUnsupportedProtocol     = "UnsupportedProtocol"
	codeIncompatibleProtocols   = "IncompatibleProtocols"
	codeInvalidAction2          = "InvalidLoadBalancerAction"
	codeOperationNotPermitted   = "OperationNotPermitted"
	codeTooManyTags             = "TooManyTags"
	codeDuplicateTagKeys        = "DuplicateTagKeys"
	codeTooManyActions          = "TooManyActions"
	codeTooManyRules            = "TooManyRules"
	codeTooManyTargets          = "TooManyTargets"
	codeTooManyListeners        = "TooManyListeners"
	codeTooManyLoadBalancers    = "TooManyLoadBalancers"
	codeTooManyTargetGroups     = "TooManyTargetGroups"
	codeInvalidScheme           = "InvalidScheme"
	codeCertificateNotFound     = "CertificateNotFound"
	codeTargetGroupAssociation  = "TargetGroupAssociationLimit"
	codeAvailabilityZoneUnknown = "AvailabilityZoneNotSupported"
)

func apiErr(code, format string, args ...any) *awsproto.Error {
	return &awsproto.Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func validation(format string, args ...any) *awsproto.Error {
	return apiErr(codeValidation, format, args...)
}

// queryCodes renames the request gate's error codes (the AWS JSON services'
// names) to those Query protocol services answer with.
var queryCodes = map[string]string{
	auth.CodeMissingAuthenticationToken: "MissingAuthenticationToken",
	auth.CodeIncompleteSignature:        "IncompleteSignature",
	auth.CodeUnrecognizedClient:         "InvalidClientTokenId",
	auth.CodeInvalidSignature:           "SignatureDoesNotMatch",
	auth.CodeAccessDenied:               "AccessDenied",
	awsproto.CodeThrottling:             "Throttling",
}

// members is a list in the Query protocol's XML: each item a <member>. An
// empty list is still written (<Name></Name>), as AWS answers.
type members[T any] []T

func (m members[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	item := xml.StartElement{Name: xml.Name{Local: "member"}}
	for i := range m {
		if err := e.EncodeElement(m[i], item); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// timestamp is how the Query protocol writes times: ISO 8601 in UTC with
// milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// encodeResult writes the envelope of a successful answer around result,
// which may be nil for operations that answer nothing.
func encodeResult(action, requestID string, result any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	e := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}}
	if err := e.EncodeToken(start); err != nil {
		return nil, err
	}
	resultStart := xml.StartElement{Name: xml.Name{Local: action + "Result"}}
	if result == nil {
		if err := e.EncodeToken(resultStart); err != nil {
			return nil, err
		}
		if err := e.EncodeToken(resultStart.End()); err != nil {
			return nil, err
		}
	} else if err := e.EncodeElement(result, resultStart); err != nil {
		return nil, err
	}
	if err := e.EncodeElement(responseMetadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, err
	}
	if err := e.EncodeToken(start.End()); err != nil {
		return nil, err
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type errorResponse struct {
	XMLName   xml.Name    `xml:"ErrorResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	Error     errorDetail `xml:"Error"`
	RequestID string      `xml:"RequestId"`
}

type errorDetail struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, requestID string, e *awsproto.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	code := e.Code
	if q, ok := queryCodes[code]; ok {
		code = q
	}
	typ := "Sender"
	if status >= http.StatusInternalServerError {
		typ = "Receiver"
	}
	b, err := xml.Marshal(errorResponse{Xmlns: Namespace, Error: errorDetail{Type: typ, Code: code, Message: e.Message}, RequestID: requestID})
	if err != nil {
		b = []byte("<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>")
	}
	writeXML(w, status, requestID, append([]byte(xml.Header), b...))
}
