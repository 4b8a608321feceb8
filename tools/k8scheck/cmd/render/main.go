// Command render prints an overlay of manifests/ ready to apply, with our
// images pointed at a registry: kustomize's Go API, the same build the tests
// check. The pipeline runs it for GKE (.ci/cloudbuild.yaml):
//
//	go run ./tools/k8scheck/cmd/render -registry europe-west1-docker.pkg.dev/p/ticketing \
//	    -tag 1a2b3c4 -image daprd=europe-west1-docker.pkg.dev/p/ticketing/daprd:1.18.3-9f8e7d \
//	    manifests/overlays/gke > rendered.yaml
//
// Every app of dapr.yaml gets <registry>/<app>:<tag>; -image overrides one
// image (the sidecar is tagged by its sources, not by commit).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/tixmesh/ticketing/tools/k8scheck"
)

type imageFlags map[string]string

func (f imageFlags) String() string { return fmt.Sprint(map[string]string(f)) }
func (f imageFlags) Set(v string) error {
	name, ref, ok := strings.Cut(v, "=")
	if !ok || name == "" || ref == "" {
		return fmt.Errorf("want name=registry/name:tag, got %q", v)
	}
	f[name] = ref
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	registry := fs.String("registry", "", "where the images are, e.g. europe-west1-docker.pkg.dev/PROJECT/ticketing")
	tag := fs.String("tag", "", "the app images' tag, e.g. the commit's short SHA")
	images := imageFlags{}
	fs.Var(images, "image", "name=reference for one image (repeatable), e.g. daprd=.../daprd:1.18.3-abc")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: render -registry R -tag T [-image name=ref]... OVERLAY_DIR")
	}
	root, err := k8scheck.Root()
	if err != nil {
		return err
	}
	rf, err := k8scheck.LoadRunFile(root)
	if err != nil {
		return err
	}
	if *registry == "" || *tag == "" {
		return fmt.Errorf("-registry and -tag are required")
	}
	all := map[string]string{}
	for _, app := range rf.AppIDs() {
		all[app] = *registry + "/" + app + ":" + *tag
	}
	for n, ref := range images {
		all[n] = ref
	}
	objs, err := k8scheck.RenderForDeploy(root, fs.Arg(0), all)
	if err != nil {
		return err
	}
	for i, o := range objs {
		if i > 0 {
			fmt.Println("---")
		}
		os.Stdout.Write(o.YAML)
	}
	return nil
}
