// Package gkeapi holds the one GKE-specific kind the gke overlay deploys,
// HealthCheckPolicy (networking.gke.io/v1), so that tools/k8scheck decodes it
// strictly like every other object: an unknown or misspelt field is an error.
//
// The fields are those of GKE's published reference for the policy ("Configure
// Gateway resources using Policies", the health check section) and nothing
// else. It is written here, not copied or generated: GKE's own Go types
// (github.com/GoogleCloudPlatform/gke-gateway-api) are not served by the Go
// module proxy, so no test can compare this to them, as internal/daprapi's
// test does for Dapr's types. What GKE's CRD validates beyond the field names
// (enums, ranges, the one-config-per-type union) is checked, where the project
// relies on it, by the cross-checks of tools/k8scheck.
package gkeapi

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// SchemeGroupVersion is GKE's networking API group, version v1.
var SchemeGroupVersion = schema.GroupVersion{Group: "networking.gke.io", Version: "v1"}

// AddToScheme registers HealthCheckPolicy and its list.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &HealthCheckPolicy{}, &HealthCheckPolicyList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}

// HealthCheckPolicy configures the load balancer's health check of the
// backend service GKE's Gateway controller makes for a Service.
type HealthCheckPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HealthCheckPolicySpec   `json:"spec"`
	Status HealthCheckPolicyStatus `json:"status,omitempty"`
}

// HealthCheckPolicyList is a list of HealthCheckPolicy.
type HealthCheckPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HealthCheckPolicy `json:"items"`
}

// HealthCheckPolicySpec names the Service (targetRef) and its health check.
type HealthCheckPolicySpec struct {
	TargetRef gatewayv1.NamespacedPolicyTargetReference `json:"targetRef"`
	Default   *HealthCheckPolicyConfig                  `json:"default,omitempty"`
}

// HealthCheckPolicyConfig is the health check: timing, thresholds, logging,
// and the protocol-specific part.
type HealthCheckPolicyConfig struct {
	CheckIntervalSec   *int64       `json:"checkIntervalSec,omitempty"`
	TimeoutSec         *int64       `json:"timeoutSec,omitempty"`
	HealthyThreshold   *int64       `json:"healthyThreshold,omitempty"`
	UnhealthyThreshold *int64       `json:"unhealthyThreshold,omitempty"`
	LogConfig          *LogConfig   `json:"logConfig,omitempty"`
	Config             *HealthCheck `json:"config,omitempty"`
}

// LogConfig turns health check logging on.
type LogConfig struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// HealthCheck is the protocol (type: TCP, HTTP, HTTPS, HTTP2 or GRPC) and
// the settings of that protocol, in the field named after it.
type HealthCheck struct {
	Type  string           `json:"type,omitempty"`
	TCP   *TCPHealthCheck  `json:"tcpHealthCheck,omitempty"`
	HTTP  *HTTPHealthCheck `json:"httpHealthCheck,omitempty"`
	HTTPS *HTTPHealthCheck `json:"httpsHealthCheck,omitempty"`
	HTTP2 *HTTPHealthCheck `json:"http2HealthCheck,omitempty"`
	GRPC  *GRPCHealthCheck `json:"grpcHealthCheck,omitempty"`
}

// PortSelection is where every protocol's check connects: the serving port
// by default (portSpecification USE_SERVING_PORT), or a fixed or named port.
type PortSelection struct {
	PortSpecification *string `json:"portSpecification,omitempty"`
	Port              *int64  `json:"port,omitempty"`
	PortName          *string `json:"portName,omitempty"`
}

// HTTPHealthCheck is an HTTP, HTTPS or HTTP/2 check: a GET of requestPath
// ("/" by default), healthy on 200 (and the response text, if given).
type HTTPHealthCheck struct {
	PortSelection `json:",inline"`
	Host          *string `json:"host,omitempty"`
	RequestPath   *string `json:"requestPath,omitempty"`
	Response      *string `json:"response,omitempty"`
	ProxyHeader   *string `json:"proxyHeader,omitempty"`
}

// TCPHealthCheck is a TCP check, optionally sending and expecting bytes.
type TCPHealthCheck struct {
	PortSelection `json:",inline"`
	Request       *string `json:"request,omitempty"`
	Response      *string `json:"response,omitempty"`
	ProxyHeader   *string `json:"proxyHeader,omitempty"`
}

// GRPCHealthCheck is a gRPC health checking protocol check.
type GRPCHealthCheck struct {
	PortSelection   `json:",inline"`
	GRPCServiceName *string `json:"grpcServiceName,omitempty"`
}

// HealthCheckPolicyStatus is what GKE reports.
type HealthCheckPolicyStatus struct {
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DeepCopyObject implements runtime.Object. The checks never mutate what
// they decode, so a JSON round trip is enough.
func (p *HealthCheckPolicy) DeepCopyObject() runtime.Object { return deepCopy(p) }

// DeepCopyObject implements runtime.Object.
func (l *HealthCheckPolicyList) DeepCopyObject() runtime.Object { return deepCopy(l) }

func deepCopy[T any, P interface {
	*T
	runtime.Object
}](in P) runtime.Object {
	if in == nil {
		return nil
	}
	// Plain structs of strings, numbers and pointers: neither step can fail.
	b, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	out := P(new(T))
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}
