package k8scheck

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	componentsv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/components/v1alpha1"
	configurationv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/configuration/v1alpha1"
	resiliencyv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/resiliency/v1alpha1"
	subscriptionsv2alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/subscriptions/v2alpha1"
	"github.com/tixmesh/ticketing/tools/k8scheck/internal/gkeapi"
)

// overlays are what gets deployed: the dev cluster (Tilt) and GKE.
var overlays = []string{"manifests/overlays/dev", "manifests/overlays/gke"}

// cluster is a rendered overlay, decoded into the API types.
type cluster struct {
	overlay         string // its directory, e.g. manifests/overlays/gke
	objs            []Object
	deployments     map[string]*appsv1.Deployment
	statefulSets    map[string]*appsv1.StatefulSet
	jobs            map[string]*batchv1.Job
	services        map[string]*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	serviceAccounts map[string]*corev1.ServiceAccount
	gateways        map[string]*gatewayv1.Gateway
	httpRoutes      map[string]*gatewayv1.HTTPRoute
	healthChecks    map[string]*gkeapi.HealthCheckPolicy
	networkPolicies map[string]*networkingv1.NetworkPolicy
	pdbs            map[string]*policyv1.PodDisruptionBudget
	roles           map[string]*rbacv1.Role
	roleBindings    map[string]*rbacv1.RoleBinding
	components      map[string]*componentsv1alpha1.Component
	subscriptions   map[string]*subscriptionsv2alpha1.Subscription
	configurations  map[string]*configurationv1alpha1.Configuration
	resiliencies    map[string]*resiliencyv1alpha1.Resiliency
}

func decodeCluster(t *testing.T, overlay string) *cluster {
	t.Helper()
	return decodeObjects(t, overlay, render(t, overlay))
}

// decodeObjects decodes rendered objects (or doctored copies of them) into a
// cluster.
func decodeObjects(t *testing.T, overlay string, objs []Object) *cluster {
	t.Helper()
	c := &cluster{
		overlay:     overlay,
		objs:        objs,
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		jobs: map[string]*batchv1.Job{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
		gateways:        map[string]*gatewayv1.Gateway{}, httpRoutes: map[string]*gatewayv1.HTTPRoute{},
		healthChecks:    map[string]*gkeapi.HealthCheckPolicy{},
		networkPolicies: map[string]*networkingv1.NetworkPolicy{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		roles: map[string]*rbacv1.Role{}, roleBindings: map[string]*rbacv1.RoleBinding{},
		components:     map[string]*componentsv1alpha1.Component{},
		subscriptions:  map[string]*subscriptionsv2alpha1.Subscription{},
		configurations: map[string]*configurationv1alpha1.Configuration{},
		resiliencies:   map[string]*resiliencyv1alpha1.Resiliency{},
	}
	for _, o := range c.objs {
		obj, err := Decode(o.YAML)
		if err != nil {
			t.Fatalf("%s: %v", o.ID(), err)
		}
		switch v := obj.(type) {
		case *appsv1.Deployment:
			c.deployments[v.Name] = v
		case *appsv1.StatefulSet:
			c.statefulSets[v.Name] = v
		case *batchv1.Job:
			c.jobs[v.Name] = v
		case *corev1.Service:
			c.services[v.Name] = v
		case *corev1.ConfigMap:
			c.configMaps[v.Name] = v
		case *corev1.Secret:
			c.secrets[v.Name] = v
		case *corev1.ServiceAccount:
			c.serviceAccounts[v.Name] = v
		case *gatewayv1.Gateway:
			c.gateways[v.Name] = v
		case *gatewayv1.HTTPRoute:
			c.httpRoutes[v.Name] = v
		case *gkeapi.HealthCheckPolicy:
			c.healthChecks[v.Name] = v
		case *networkingv1.NetworkPolicy:
			c.networkPolicies[v.Name] = v
		case *policyv1.PodDisruptionBudget:
			c.pdbs[v.Name] = v
		case *rbacv1.Role:
			c.roles[v.Name] = v
		case *rbacv1.RoleBinding:
			c.roleBindings[v.Name] = v
		case *componentsv1alpha1.Component:
			c.components[v.Name] = v
		case *subscriptionsv2alpha1.Subscription:
			c.subscriptions[v.Name] = v
		case *configurationv1alpha1.Configuration:
			c.configurations[v.Name] = v
		case *resiliencyv1alpha1.Resiliency:
			c.resiliencies[v.Name] = v
		case *corev1.Namespace:
		default:
			t.Fatalf("%s: decoded as %T, which no check looks at", o.ID(), obj)
		}
	}
	return c
}

// forEachOverlay runs f once per deployed overlay, as a subtest.
func forEachOverlay(t *testing.T, f func(t *testing.T, c *cluster)) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) { f(t, decodeCluster(t, o)) })
	}
}

// podTemplates returns every pod template of the cluster's workloads, by
// Kind/name.
func (c *cluster) podTemplates() map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for n, d := range c.deployments {
		out["Deployment/"+n] = &d.Spec.Template
	}
	for n, s := range c.statefulSets {
		out["StatefulSet/"+n] = &s.Spec.Template
	}
	for n, j := range c.jobs {
		out["Job/"+n] = &j.Spec.Template
	}
	return out
}

// selects reports whether a label selector (matchLabels only) selects labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func metadataValue(c *componentsv1alpha1.Component, name string) (string, bool) {
	for _, m := range c.Spec.Metadata {
		if m.Name == name {
			return m.Value.String(), true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type rbacRole = rbacv1.Role
