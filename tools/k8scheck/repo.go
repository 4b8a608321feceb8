// Package k8scheck checks, offline, everything the project deploys to
// Kubernetes: it renders the kustomize overlays with kustomize's own Go API,
// decodes every object strictly against the Kubernetes and Dapr 1.18.3 API
// types, runs the Tiltfile under Starlark with Tilt's builtins recorded,
// parses the Dockerfiles with BuildKit's parser, and cross-checks all of it
// against dapr.yaml, the apps' config and the local components; it also
// checks that git tracks only sources. The checks are the package's tests;
// cmd/render renders an overlay for deployment.
package k8scheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// Root returns the repository root: the nearest directory above the working
// directory that holds dapr.yaml and go.work.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "dapr.yaml")) && isFile(filepath.Join(dir, "go.work")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no dapr.yaml and go.work above the working directory")
		}
		dir = parent
	}
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// App is one app of dapr.yaml (Dapr's Multi-App Run format).
type App struct {
	AppID      string            `json:"appID"`
	AppDirPath string            `json:"appDirPath"`
	AppPort    int               `json:"appPort"`
	Env        map[string]string `json:"env"`
}

// RunFile is the part of dapr.yaml the cluster must agree with.
type RunFile struct {
	Common struct {
		ResourcesPaths []string          `json:"resourcesPaths"`
		ConfigFilePath string            `json:"configFilePath"`
		Env            map[string]string `json:"env"`
	} `json:"common"`
	Apps []App `json:"apps"`
}

// LoadRunFile reads dapr.yaml at the repository root.
func LoadRunFile(root string) (RunFile, error) {
	var rf RunFile
	b, err := os.ReadFile(filepath.Join(root, "dapr.yaml"))
	if err != nil {
		return rf, err
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		return rf, fmt.Errorf("dapr.yaml: %w", err)
	}
	if len(rf.Apps) == 0 {
		return rf, errors.New("dapr.yaml: no apps")
	}
	return rf, nil
}

// AppIDs lists the app ids of dapr.yaml in order.
func (rf RunFile) AppIDs() []string {
	ids := make([]string, len(rf.Apps))
	for i, a := range rf.Apps {
		ids[i] = a.AppID
	}
	return ids
}
