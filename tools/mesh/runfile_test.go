package mesh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunFileRejectsWhatTheRunnerCannotRun(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"no apps", "version: 1\napps: []\n", "no apps"},
		{"missing id", "version: 1\napps:\n  - appDirPath: ./x\n    appPort: 1\n    daprHTTPPort: 2\n    daprGRPCPort: 3\n", "no appID"},
		{"duplicate id", "version: 1\napps:\n  - {appID: a, appDirPath: ./a, appPort: 1, daprHTTPPort: 2, daprGRPCPort: 3}\n  - {appID: a, appDirPath: ./b, appPort: 4, daprHTTPPort: 5, daprGRPCPort: 6}\n", "twice"},
		{"missing ports", "version: 1\napps:\n  - {appID: a, appDirPath: ./a}\n", "needs appPort"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dapr.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadRunFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestTheRepositorysRunFileHasEveryApp(t *testing.T) {
	rf, err := LoadRunFile(filepath.Join("..", "..", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"auth", "tickets", "orders", "payments", "expiration", "client"} {
		a, ok := rf.App(id)
		if !ok {
			t.Errorf("dapr.yaml has no %s", id)
			continue
		}
		if _, err := os.Stat(filepath.Join("..", "..", a.AppDirPath, "main.go")); err != nil {
			t.Errorf("%s: appDirPath %s has no main.go", id, a.AppDirPath)
		}
	}
}
