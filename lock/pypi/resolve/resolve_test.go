package resolve

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
)

// memProvider is an in-memory index: package → version → requirements
// written "name" or "name<specifiers>".
type memProvider struct {
	pkgs        map[string]map[string][]string
	unavailable map[string]string // "pkg version" → reason
	calls       int               // Dependencies calls
}

func (m *memProvider) Candidates(_ context.Context, pkg string) ([]pep440.Version, error) {
	var out []pep440.Version
	for v := range m.pkgs[pkg] {
		out = append(out, pep440.MustParse(v))
	}
	sort.Slice(out, func(i, j int) bool { return out[j].Less(out[i]) })
	return out, nil
}

func (m *memProvider) Dependencies(_ context.Context, pkg string, v pep440.Version) ([]Dependency, error) {
	m.calls++
	if r, ok := m.unavailable[pkg+" "+v.String()]; ok {
		return nil, &UnavailableError{Reason: r}
	}
	if reqs, ok := m.pkgs[pkg][v.String()]; ok {
		return parseDeps(reqs)
	}
	return nil, fmt.Errorf("no version %s of %s", v, pkg)
}

func parseDeps(reqs []string) ([]Dependency, error) {
	var out []Dependency
	for _, r := range reqs {
		i := strings.IndexAny(r, "<>=!~ ")
		name, spec := r, ""
		if i >= 0 {
			name, spec = r[:i], r[i:]
		}
		ss, err := pep440.ParseSpecifiers(spec)
		if err != nil {
			return nil, err
		}
		set, err := ss.Set()
		if err != nil {
			return nil, err
		}
		out = append(out, Dependency{Name: name, Set: set})
	}
	return out, nil
}

func mustDeps(t *testing.T, reqs ...string) []Dependency {
	t.Helper()
	d, err := parseDeps(reqs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func render(pkgs []Package) string {
	var parts []string
	for _, p := range pkgs {
		parts = append(parts, p.Name+" "+p.Version.String())
	}
	return strings.Join(parts, ", ")
}

// The examples of the PubGrub documentation ("solver.md"), with caret
// ranges written as PEP 440 specifiers.
func TestResolveSolutions(t *testing.T) {
	tests := []struct {
		name string
		pkgs map[string]map[string][]string
		reqs []string
		want string
	}{
		{
			name: "no conflicts",
			pkgs: map[string]map[string][]string{
				"foo": {"1.0.0": {"bar>=1.0.0,<2.0.0"}},
				"bar": {"1.0.0": nil, "2.0.0": nil},
			},
			reqs: []string{"foo>=1.0.0,<2.0.0"},
			want: "bar 1.0.0, foo 1.0.0",
		},
		{
			name: "avoiding conflict during decision making",
			pkgs: map[string]map[string][]string{
				"foo": {"1.0.0": nil, "1.1.0": {"bar>=2.0.0,<3.0.0"}},
				"bar": {"1.0.0": nil, "1.1.0": nil, "2.0.0": nil},
			},
			reqs: []string{"foo>=1.0.0,<2.0.0", "bar>=1.0.0,<2.0.0"},
			want: "bar 1.1.0, foo 1.0.0",
		},
		{
			name: "performing conflict resolution",
			pkgs: map[string]map[string][]string{
				"foo": {"1.0.0": nil, "2.0.0": {"bar>=1.0.0,<2.0.0"}},
				"bar": {"1.0.0": {"foo>=1.0.0,<2.0.0"}},
			},
			reqs: []string{"foo>=1.0.0"},
			want: "foo 1.0.0",
		},
		{
			name: "conflict resolution with a partial satisfier",
			pkgs: map[string]map[string][]string{
				"foo":    {"1.0.0": nil, "1.1.0": {"left>=1.0.0,<2.0.0", "right>=1.0.0,<2.0.0"}},
				"left":   {"1.0.0": {"shared>=1.0.0"}},
				"right":  {"1.0.0": {"shared<2.0.0"}},
				"shared": {"1.0.0": {"target>=1.0.0,<2.0.0"}, "2.0.0": nil},
				"target": {"1.0.0": nil, "2.0.0": nil},
			},
			reqs: []string{"foo>=1.0.0,<2.0.0", "target>=2.0.0,<3.0.0"},
			want: "foo 1.0.0, target 2.0.0",
		},
		{
			name: "highest version first, dependencies recorded",
			pkgs: map[string]map[string][]string{
				"a": {"1.0": {"b"}, "2.0": {"b>=2", "c"}},
				"b": {"1.0": nil, "2.0": nil, "3.0a1": nil},
				"c": {"0.1": {"b<3"}},
			},
			reqs: []string{"a"},
			want: "a 2.0, b 2.0, c 0.1",
		},
		{
			name: "diamond that backtracks the first decision",
			pkgs: map[string]map[string][]string{
				"a": {"1.0": {"c==1.0"}, "2.0": {"c==2.0"}},
				"b": {"1.0": {"c==1.0"}},
				"c": {"1.0": nil, "2.0": nil},
			},
			reqs: []string{"a", "b"},
			want: "a 1.0, b 1.0, c 1.0",
		},
		{
			name: "a version without usable metadata is skipped",
			pkgs: map[string]map[string][]string{
				"a": {"1.0": nil, "2.0": nil},
			},
			reqs: []string{"a"},
			want: "a 1.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &memProvider{pkgs: tt.pkgs}
			if tt.name == "a version without usable metadata is skipped" {
				p.unavailable = map[string]string{"a 2.0": "a 2.0 has no wheel for CPython 3.11.0 on linux/arm64 (glibc 2.28)"}
			}
			got, err := Resolve(context.Background(), p, mustDeps(t, tt.reqs...), Options{})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if g := render(got); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

func TestResolveExplanations(t *testing.T) {
	tests := []struct {
		name        string
		pkgs        map[string]map[string][]string
		unavailable map[string]string
		reqs        []string
		want        string
	}{
		{
			name: "linear error reporting",
			pkgs: map[string]map[string][]string{
				"foo": {"1.0.0": {"bar>=2.0.0,<3.0.0"}},
				"bar": {"2.0.0": {"baz>=3.0.0,<4.0.0"}},
				"baz": {"1.0.0": nil, "3.0.0": nil},
			},
			reqs: []string{"foo>=1.0.0,<2.0.0", "baz>=1.0.0,<2.0.0"},
			want: "Because foo 1.0.0 depends on bar>=2.0.0, <3.0.0 which depends on baz>=3.0.0, <4.0.0, foo 1.0.0 requires baz>=3.0.0, <4.0.0.\n" +
				"So, because you asked for baz>=1.0.0, <2.0.0 and foo>=1.0.0, <2.0.0, the requirements cannot be satisfied.",
		},
		{
			name: "branching error reporting",
			pkgs: map[string]map[string][]string{
				"foo": {"1.0.0": {"a>=1.0.0,<2.0.0", "b>=1.0.0,<2.0.0"}, "1.1.0": {"x>=1.0.0,<2.0.0", "y>=1.0.0,<2.0.0"}},
				"a":   {"1.0.0": {"b>=2.0.0,<3.0.0"}},
				"b":   {"1.0.0": nil, "2.0.0": nil},
				"x":   {"1.0.0": {"y>=2.0.0,<3.0.0"}},
				"y":   {"1.0.0": nil, "2.0.0": nil},
			},
			reqs: []string{"foo>=1.0.0,<2.0.0"},
			want: "    Because a 1.0.0 depends on b>=2.0.0, <3.0.0 and foo 1.0.0 depends on b>=1.0.0, <2.0.0, a 1.0.0 is incompatible with foo 1.0.0.\n" +
				"(1) So, because foo 1.0.0 depends on a>=1.0.0, <2.0.0, foo 1.0.0 cannot be used.\n" +
				"\n" +
				"    Because x 1.0.0 depends on y>=2.0.0, <3.0.0 and foo 1.1.0 depends on y>=1.0.0, <2.0.0, x 1.0.0 is incompatible with foo 1.1.0.\n" +
				"    And because foo 1.1.0 depends on x>=1.0.0, <2.0.0, foo 1.1.0 cannot be used.\n" +
				"    And because foo 1.0.0 cannot be used (1), no version of foo can be used.\n" +
				"    So, because you asked for foo>=1.0.0, <2.0.0, the requirements cannot be satisfied.",
		},
		{
			name: "the example of the documentation",
			pkgs: map[string]map[string][]string{
				"a": {"2.0": {"b>=3"}},
				"b": {"1.0": nil, "3.0": nil},
			},
			reqs: []string{"a", "b<2"},
			want: "Because a 2.0 depends on b>=3 and you asked for b<2, a 2.0 cannot be used.\n" +
				"So, because you asked for a, the requirements cannot be satisfied.",
		},
		{
			name: "two requirements of one version",
			pkgs: map[string]map[string][]string{
				"x": {"1.0": {"y>=2", "y<1"}},
				"y": {"0.5": nil, "2.0": nil},
			},
			reqs: []string{"x"},
			want: "Because x 1.0 depends on both y>=2 and y<1, x 1.0 cannot be used.\n" +
				"So, because you asked for x, the requirements cannot be satisfied.",
		},
		{
			name: "no matching version",
			pkgs: map[string]map[string][]string{
				"x": {"1.0": nil},
			},
			reqs: []string{"x>=9"},
			want: "Because no version of x matches >=9 and you asked for x>=9, the requirements cannot be satisfied.",
		},
		{
			name: "unavailable versions",
			pkgs: map[string]map[string][]string{
				"x": {"1.0": nil, "2.0": nil},
			},
			unavailable: map[string]string{
				"x 1.0": "x 1.0 has no wheel for CPython 3.11.0 on linux/arm64 (glibc 2.28)",
				"x 2.0": "x 2.0 requires Python >=3.12",
			},
			reqs: []string{"x"},
			want: "Because x 1.0 has no wheel for CPython 3.11.0 on linux/arm64 (glibc 2.28) and x 2.0 requires Python >=3.12, no version of x can be used.\n" +
				"So, because you asked for x, the requirements cannot be satisfied.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &memProvider{pkgs: tt.pkgs, unavailable: tt.unavailable}
			_, err := Resolve(context.Background(), p, mustDeps(t, tt.reqs...), Options{})
			var ns *NoSolutionError
			if !errors.As(err, &ns) {
				t.Fatalf("Resolve: got error %v, want a NoSolutionError", err)
			}
			if ns.Explanation != tt.want {
				t.Errorf("explanation:\n%s\nwant:\n%s", ns.Explanation, tt.want)
			}
		})
	}
}

// Backtracking through every version of a package is told in one sentence,
// not one per version.
func TestResolveExplanationFoldsLongChains(t *testing.T) {
	p := &memProvider{pkgs: botoLike(8)}
	_, err := Resolve(context.Background(), p, mustDeps(t, "boto3<1.6", "botocore>=1.6"), Options{})
	var ns *NoSolutionError
	if !errors.As(err, &ns) {
		t.Fatalf("Resolve: got error %v, want a NoSolutionError", err)
	}
	want := "Because boto3 1.0.0 depends on botocore>=1.0.0, <1.1.0 and boto3 1.1.0 depends on botocore>=1.1.0, <1.2.0, boto3<=1.1.0 requires botocore<=1.1.0.\n" +
		"And because boto3 1.5.0 depends on botocore>=1.5.0, <1.6.0 and 3 similar reasons, boto3<=1.5.0 requires botocore<=1.5.0.\n" +
		"So, because you asked for botocore>=1.6 and boto3<1.6, the requirements cannot be satisfied."
	if ns.Explanation != want {
		t.Errorf("explanation:\n%s\nwant:\n%s", ns.Explanation, want)
	}
}
