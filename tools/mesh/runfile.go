package mesh

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"
)

// RunFile is the subset of Dapr's Multi-App Run template (dapr.yaml) the
// runner reads. The same file works with `dapr run -f .`.
type RunFile struct {
	Version int       `yaml:"version"`
	Common  RunCommon `yaml:"common"`
	Apps    []RunApp  `yaml:"apps"`
	dir     string
}

// RunCommon holds settings shared by every app.
type RunCommon struct {
	ResourcesPaths       []string          `yaml:"resourcesPaths"`
	ConfigFilePath       string            `yaml:"configFilePath"`
	Env                  map[string]string `yaml:"env"`
	LogLevel             string            `yaml:"logLevel"`
	PlacementHostAddress string            `yaml:"placementHostAddress"`
	SchedulerHostAddress string            `yaml:"schedulerHostAddress"`
}

// RunApp is one app and its sidecar.
type RunApp struct {
	AppID              string            `yaml:"appID"`
	AppDirPath         string            `yaml:"appDirPath"`
	AppPort            int               `yaml:"appPort"`
	DaprHTTPPort       int               `yaml:"daprHTTPPort"`
	DaprGRPCPort       int               `yaml:"daprGRPCPort"`
	MetricsPort        int               `yaml:"metricsPort"`
	Command            []string          `yaml:"command"`
	Env                map[string]string `yaml:"env"`
	AppHealthCheckPath string            `yaml:"appHealthCheckPath"`
	LogLevel           string            `yaml:"logLevel"`
}

// LoadRunFile reads dapr.yaml and checks what the runner relies on.
func LoadRunFile(path string) (*RunFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf RunFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rf.dir = filepath.Dir(path)
	seen := map[string]bool{}
	for i, a := range rf.Apps {
		switch {
		case a.AppID == "":
			return nil, fmt.Errorf("%s: app %d has no appID", path, i)
		case seen[a.AppID]:
			return nil, fmt.Errorf("%s: app id %q appears twice", path, a.AppID)
		case a.AppDirPath == "":
			return nil, fmt.Errorf("%s: app %q has no appDirPath", path, a.AppID)
		case a.AppPort == 0 || a.DaprHTTPPort == 0 || a.DaprGRPCPort == 0:
			return nil, fmt.Errorf("%s: app %q needs appPort, daprHTTPPort and daprGRPCPort", path, a.AppID)
		}
		seen[a.AppID] = true
	}
	if len(rf.Apps) == 0 {
		return nil, fmt.Errorf("%s: no apps", path)
	}
	return &rf, nil
}

// Dir is the directory relative paths in the file resolve against.
func (rf *RunFile) Dir() string { return rf.dir }

// App returns the app with the given id.
func (rf *RunFile) App(id string) (RunApp, bool) {
	for _, a := range rf.Apps {
		if a.AppID == id {
			return a, true
		}
	}
	return RunApp{}, false
}

func (rf *RunFile) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(rf.dir, p)
}

// appEnv is the app's environment from dapr.yaml: common env, then the app's.
func (rf *RunFile) appEnv(a RunApp) map[string]string {
	env := map[string]string{}
	for k, v := range rf.Common.Env {
		env[k] = v
	}
	for k, v := range a.Env {
		env[k] = v
	}
	return env
}

func itoa(n int) string { return strconv.Itoa(n) }
