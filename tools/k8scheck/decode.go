package k8scheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	componentsv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/components/v1alpha1"
	configurationv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/configuration/v1alpha1"
	resiliencyv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/resiliency/v1alpha1"
	subscriptionsv2alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/subscriptions/v2alpha1"
	"github.com/tixmesh/ticketing/tools/k8scheck/internal/gkeapi"
)

// Scheme knows every kind this project deploys: the Kubernetes API groups it
// uses (k8s.io/api, the version kustomize's own dependencies pin), the Gateway
// API's (sigs.k8s.io/gateway-api v1.4.0, its own Go types), Dapr 1.18.3's CRDs
// and GKE's HealthCheckPolicy. A kind outside it is an error, so a new kind
// gets a decoder before it gets deployed.
var Scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme,
		componentsv1alpha1.AddToScheme, configurationv1alpha1.AddToScheme,
		resiliencyv1alpha1.AddToScheme, subscriptionsv2alpha1.AddToScheme,
		gatewayv1.Install, gkeapi.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// strict is apimachinery's YAML serializer in strict mode, the decoding
// `kubectl apply --validate=strict` asks of the API server: an unknown or
// duplicated field is an error, field names are case-sensitive.
var strict = json.NewSerializerWithOptions(json.DefaultMetaFactory, Scheme, Scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// Decode decodes one YAML object strictly into its Go type.
func Decode(doc []byte) (runtime.Object, error) {
	obj, gvk, err := strict.Decode(doc, nil, nil)
	if err != nil {
		if gvk != nil {
			return nil, fmt.Errorf("%s: %w", gvk.Kind, err)
		}
		return nil, err
	}
	return obj, nil
}

// DecodeAll decodes every document of a multi-document YAML stream strictly.
func DecodeAll(stream []byte) ([]runtime.Object, error) {
	r := utilyaml.NewYAMLReader(bufioReader(stream))
	var objs []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, err := Decode(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		objs = append(objs, obj)
	}
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || bytes.Equal(t, []byte("---")) {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
