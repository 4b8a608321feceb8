package k8scheck

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is a Dockerfile parsed by BuildKit's own parser, the one
// `docker build` uses, into its stages and instructions.
type Dockerfile struct {
	Path     string
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand // the ARGs before the first FROM
	Warnings []string                  // BuildKit's lint warnings (docker build --check)
}

// ParseDockerfile parses path with BuildKit's parser and instruction parser,
// with its linter on.
func ParseDockerfile(path string) (*Dockerfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	df := &Dockerfile{Path: path}
	for _, w := range res.Warnings {
		df.Warnings = append(df.Warnings, fmt.Sprintf("%s:%d: %s", path, w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		df.Warnings = append(df.Warnings, fmt.Sprintf("%s:%d: %s: %s", path, line, rule, msg))
	}})
	df.Stages, df.MetaArgs, err = instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return df, nil
}

// PlannedStage is a stage a build runs, with its variables expanded.
type PlannedStage struct {
	Name       string   // the stage's name, or its index
	From       string   // the image or stage it starts from
	FromStage  bool     // From names an earlier stage
	Sources    []string // COPY/ADD sources read from the build context
	CopyFrom   []string // stages and images COPY --from reads
	User       string
	Entrypoint []string
	Env        map[string]string
}

// Plan returns the stages a build of target runs, in order: the target and
// every stage it reaches through FROM and COPY --from, the way BuildKit prunes
// unused stages. Variables are expanded with BuildKit's shell lexer from the
// build args and ARG defaults; a reference to an undefined variable is an
// error, as is an unknown target.
func (d *Dockerfile) Plan(target string, buildArgs map[string]string) ([]PlannedStage, error) {
	meta := map[string]string{}
	for _, a := range d.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				meta[kv.Key] = v
			} else if kv.Value != nil {
				meta[kv.Key] = *kv.Value
			}
		}
	}
	index := map[string]int{}
	for i, s := range d.Stages {
		if s.Name != "" {
			index[strings.ToLower(s.Name)] = i
		}
		index[strconv.Itoa(i)] = i
	}
	last := len(d.Stages) - 1
	if target != "" {
		i, ok := index[strings.ToLower(target)]
		if !ok {
			return nil, fmt.Errorf("%s: no stage %q", d.Path, target)
		}
		last = i
	}

	// The stages the target needs, through FROM <stage> and COPY --from.
	lex := shell.NewLex('\\')
	lenient := func(word string) string {
		res, err := lex.ProcessWordWithMatches(word, envGetter(meta))
		if err != nil {
			return word
		}
		return res.Result
	}
	deps := func(i int) []int {
		var out []int
		s := d.Stages[i]
		if j, ok := index[strings.ToLower(lenient(s.BaseName))]; ok && j < i {
			out = append(out, j)
		}
		for _, c := range s.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				if j, ok := index[strings.ToLower(lenient(cp.From))]; ok && j < i {
					out = append(out, j)
				}
			}
		}
		return out
	}
	need := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if need[i] {
			return
		}
		need[i] = true
		for _, j := range deps(i) {
			visit(j)
		}
	}
	visit(last)
	planned := make([]*PlannedStage, len(d.Stages))
	for i := 0; i <= last; i++ {
		if !need[i] {
			continue
		}
		p, err := d.planStage(i, index, meta, buildArgs)
		if err != nil {
			return nil, err
		}
		planned[i] = p
	}
	var out []PlannedStage
	for i := 0; i <= last; i++ {
		if need[i] {
			out = append(out, *planned[i])
		}
	}
	return out, nil
}

func (d *Dockerfile) planStage(i int, index map[string]int, meta, buildArgs map[string]string) (*PlannedStage, error) {
	s := d.Stages[i]
	lex := shell.NewLex('\\')
	where := func(line int) string { return fmt.Sprintf("%s:%d", d.Path, line) }
	expand := func(word string, vars map[string]string, line int) (string, error) {
		res, err := lex.ProcessWordWithMatches(word, envGetter(vars))
		if err != nil {
			return "", fmt.Errorf("%s: %w", where(line), err)
		}
		if len(res.Unmatched) > 0 {
			return "", fmt.Errorf("%s: %q uses undefined %s", where(line), word, strings.Join(sortedKeys(res.Unmatched), ", "))
		}
		return res.Result, nil
	}
	line := 0
	if len(s.Location) > 0 {
		line = s.Location[0].Start.Line
	}
	from, err := expand(s.BaseName, meta, line)
	if err != nil {
		return nil, err
	}
	p := &PlannedStage{Name: s.Name, From: from, Env: map[string]string{}}
	if p.Name == "" {
		p.Name = strconv.Itoa(i)
	}
	if j, ok := index[strings.ToLower(from)]; ok && j < i {
		p.FromStage = true
	}
	vars := map[string]string{}
	for _, c := range s.Commands {
		line := 0
		if loc := c.Location(); len(loc) > 0 {
			line = loc[0].Start.Line
		}
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				switch v, ok := buildArgs[kv.Key]; {
				case ok:
					vars[kv.Key] = v
				case kv.Value != nil:
					v, err := expand(*kv.Value, vars, line)
					if err != nil {
						return nil, err
					}
					vars[kv.Key] = v
				default:
					if mv, ok := meta[kv.Key]; ok {
						vars[kv.Key] = mv
					}
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				v, err := expand(kv.Value, vars, line)
				if err != nil {
					return nil, err
				}
				vars[kv.Key] = v
				p.Env[kv.Key] = v
			}
		case *instructions.CopyCommand:
			from := c.From
			if from != "" {
				f, err := expand(from, vars, line)
				if err != nil {
					return nil, err
				}
				p.CopyFrom = append(p.CopyFrom, f)
			}
			for _, src := range c.SourcePaths {
				v, err := expand(src, vars, line)
				if err != nil {
					return nil, err
				}
				if from == "" {
					p.Sources = append(p.Sources, v)
				}
			}
		case *instructions.AddCommand:
			for _, src := range c.SourcePaths {
				v, err := expand(src, vars, line)
				if err != nil {
					return nil, err
				}
				p.Sources = append(p.Sources, v)
			}
		case *instructions.UserCommand:
			u, err := expand(c.User, vars, line)
			if err != nil {
				return nil, err
			}
			p.User = u
		case *instructions.EntrypointCommand:
			p.Entrypoint = c.CmdLine
			if c.PrependShell {
				p.Entrypoint = append([]string{"/bin/sh", "-c"}, c.CmdLine...)
			}
		}
	}
	return p, nil
}

type envGetter map[string]string

func (e envGetter) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envGetter) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
