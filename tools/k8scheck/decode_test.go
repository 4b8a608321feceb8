package k8scheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	componentsv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/components/v1alpha1"
	subscriptionsv2alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/subscriptions/v2alpha1"
)

// The Dapr resources outside the cluster's kustomization: what make up and
// dapr run -f load. They are Dapr resources too, so they decode strictly
// against the same CRD types.
var daprResourceDirs = []string{
	"components/local",
	"components/subscriptions",
	"components/brokers",
	"components/cluster",
}

func TestDaprResourcesDecodeStrictly(t *testing.T) {
	root := repoRoot(t)
	n := 0
	for _, dir := range daprResourceDirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" || d.Name() == "kustomization.yaml" {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			objs, err := DecodeAll(b)
			if err != nil {
				t.Errorf("%s: %v", rel(root, path), err)
				return nil
			}
			for _, o := range objs {
				if g := o.GetObjectKind().GroupVersionKind().Group; g != "dapr.io" {
					t.Errorf("%s: a %s object, want only dapr.io resources", rel(root, path), g)
				}
			}
			n += len(objs)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 30 {
		t.Errorf("decoded %d Dapr resources, expected every component, configuration and subscription", n)
	}
}

// A typo must fail, or the strict decoding above proves nothing. Each case
// breaks one field of a real rendered object.
func TestTyposFailStrictDecoding(t *testing.T) {
	objs := render(t, "manifests/overlays/gke")
	cases := []struct {
		name, kind, object, from, to string
	}{
		{"Deployment: misspelt field", "Deployment", "orders", "readinessProbe:", "readynessProbe:"},
		{"Deployment: wrong case", "Deployment", "orders", "containerPort:", "containerport:"},
		{"Service: unknown field", "Service", "orders", "targetPort:", "target_port:"},
		{"Component: misspelt spec field", "Component", "orders-store", "metadata:\n  - name: connectionString", "metdata:\n  - name: connectionString"},
		{"Component: misspelt secret reference", "Component", "orders-store", "secretKeyRef:", "secretKeyref:"},
		{"Deployment: misspelt init container field", "Deployment", "orders", "initContainers:", "initContainer:"},
		{"Deployment: wrong case in the migrations' secret", "Deployment", "orders", "secretKeyRef:", "secretkeyRef:"},
		{"Component: scopes in spec", "Component", "orders-store", "  version: v1\n", "  version: v1\n  scopes: [orders]\n"},
		{"Subscription: wrong case", "Subscription", "orders-ticket-created", "pubsubname:", "pubsubName:"},
		{"Resiliency: misspelt policy field", "Resiliency", "tixmesh", "maxRetries: 5", "maxRetry: 5"},
		{"Configuration: unknown field", "Configuration", "tixmesh", "samplingRate:", "sampleRate:"},
		{"StatefulSet: misplaced field", "StatefulSet", "nats", "serviceName: nats", "servicename: nats"},
		{"HTTPRoute: misspelt field", "HTTPRoute", "ticketing", "backendRefs:", "backendRef:"},
		{"HTTPRoute: wrong case", "HTTPRoute", "ticketing", "sectionName:", "sectionname:"},
		{"HTTPRoute: misplaced redirect field", "HTTPRoute", "ticketing-https-redirect", "statusCode: 301", "status: 301"},
		{"Gateway: unknown field", "Gateway", "ticketing", "gatewayClassName:", "className:"},
		{"Gateway: misspelt listener field", "Gateway", "ticketing", "allowedRoutes:", "allowRoutes:"},
		{"HealthCheckPolicy: unknown field", "HealthCheckPolicy", "auth", "requestPath:", "path:"},
		{"HealthCheckPolicy: misplaced field", "HealthCheckPolicy", "auth", "type: HTTP", "protocol: HTTP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := Find(objs, c.kind, c.object)
			if !ok {
				t.Fatalf("no %s/%s rendered", c.kind, c.object)
			}
			if _, err := Decode(o.YAML); err != nil {
				t.Fatalf("the unmodified object does not decode: %v", err)
			}
			broken := bytes.Replace(o.YAML, []byte(c.from), []byte(c.to), 1)
			if bytes.Equal(broken, o.YAML) {
				t.Fatalf("%q is not in %s", c.from, o.ID())
			}
			_, err := Decode(broken)
			if err == nil {
				t.Fatalf("decoded with %q changed to %q; want an error", c.from, c.to)
			}
			if !runtime.IsStrictDecodingError(unwrapAll(err)) && !strings.Contains(err.Error(), "unknown field") {
				t.Errorf("error %v, want a strict decoding error", err)
			}
		})
	}
	t.Run("unknown kind", func(t *testing.T) {
		_, err := Decode([]byte("apiVersion: dapr.io/v1alpha1\nkind: Componant\nmetadata:\n  name: x\n"))
		if err == nil {
			t.Fatal("an unknown kind decoded")
		}
	})
}

// The decoded objects are the real Go types, with their values.
func TestDecodeGivesTypedObjects(t *testing.T) {
	objs := render(t, "manifests/overlays/gke")
	o, _ := Find(objs, "Deployment", "payments")
	obj, err := Decode(o.YAML)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := obj.(*appsv1.Deployment)
	if !ok || *d.Spec.Replicas != 2 {
		t.Fatalf("got %T, want *appsv1.Deployment with 2 replicas", obj)
	}
	o, _ = Find(objs, "Component", "expiration-store")
	obj, err = Decode(o.YAML)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := obj.(*componentsv1alpha1.Component)
	if !ok || c.Spec.Type != "state.mongodb" || c.Scopes[0] != "expiration" {
		t.Fatalf("got %#v, want the expiration store", obj)
	}
	o, _ = Find(objs, "Subscription", "orders-payment-created")
	obj, err = Decode(o.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := obj.(*subscriptionsv2alpha1.Subscription); !ok || s.Spec.Topic != "payment:created" {
		t.Fatalf("got %#v, want the subscription to payment:created", obj)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
