package metaflow

import (
	"strings"
)

// pickFlow chooses the flow class among the classes of a file: a subclass of
// FlowSpec (directly or through another class of the file) that no other
// flow class of the file derives from. Steps inherited from flow classes of
// the same file are included; a subclass's method overrides its base's.
func pickFlow(file string, classes []*pyClass, aliases map[string]string) (*rawFlow, error) {
	byName := map[string]*pyClass{}
	for _, c := range classes {
		byName[c.name] = c
	}
	var isFlow func(c *pyClass, seen map[string]bool) bool
	isFlow = func(c *pyClass, seen map[string]bool) bool {
		if seen[c.name] {
			return false
		}
		seen[c.name] = true
		for _, b := range c.bases {
			name := baseName(b)
			if name == "FlowSpec" || aliases[name] == "FlowSpec" {
				return true
			}
			if bc, ok := byName[name]; ok && isFlow(bc, seen) {
				return true
			}
		}
		return false
	}
	var flows []*pyClass
	for _, c := range classes {
		if isFlow(c, map[string]bool{}) {
			flows = append(flows, c)
		}
	}
	derived := map[string]bool{}
	for _, c := range flows {
		for _, b := range c.bases {
			derived[baseName(b)] = true
		}
	}
	var leaves []*pyClass
	for _, c := range flows {
		if !derived[c.name] {
			leaves = append(leaves, c)
		}
	}
	switch len(leaves) {
	case 0:
		return nil, errorf(Position{File: file}, "no flow found: no class derives from FlowSpec; a flow file defines a class like `class MyFlow(FlowSpec):`")
	case 1:
	default:
		var names []string
		for _, c := range leaves {
			names = append(names, c.name)
		}
		return nil, errorf(leaves[1].pos, "several flows in one file (%s); envbuild reads one flow per file, as Metaflow runs one", strings.Join(names, ", "))
	}
	leaf := leaves[0]
	flow := &rawFlow{name: leaf.name, pos: leaf.pos, decorators: leaf.decorators}
	// Collect steps, base classes first so subclasses override them.
	seenStep := map[string]int{}
	var visit func(c *pyClass, seen map[string]bool)
	visit = func(c *pyClass, seen map[string]bool) {
		if seen[c.name] {
			return
		}
		seen[c.name] = true
		for i := len(c.bases) - 1; i >= 0; i-- {
			if bc, ok := byName[baseName(c.bases[i])]; ok {
				visit(bc, seen)
			}
		}
		for _, m := range c.methods {
			isStep := false
			for _, d := range m.decorators {
				if d.name == "step" {
					isStep = true
				}
			}
			if i, ok := seenStep[m.name]; ok {
				if isStep {
					flow.steps[i] = rawStep{name: m.name, pos: m.pos, decorators: m.decorators}
				} else {
					flow.steps = append(flow.steps[:i], flow.steps[i+1:]...)
					delete(seenStep, m.name)
					for n, j := range seenStep {
						if j > i {
							seenStep[n] = j - 1
						}
					}
				}
				continue
			}
			if isStep {
				seenStep[m.name] = len(flow.steps)
				flow.steps = append(flow.steps, rawStep{name: m.name, pos: m.pos, decorators: m.decorators})
			}
		}
	}
	visit(leaf, map[string]bool{})
	sortStepsByPosition(flow.steps)
	if len(flow.steps) == 0 {
		return nil, errorf(leaf.pos, "flow %s has no steps (methods decorated with @step)", leaf.name)
	}
	return flow, nil
}

// baseName is the last component of a base class expression (FlowSpec for
// metaflow.FlowSpec), or "" when it is not a plain dotted name.
func baseName(v value) string {
	if v.kind != valComputed {
		return ""
	}
	parts := strings.Split(v.src, ".")
	last := strings.TrimSpace(parts[len(parts)-1])
	if last == "" {
		return ""
	}
	for _, r := range last {
		if !isIdentPart(r) {
			return ""
		}
	}
	return last
}

// sortStepsByPosition orders steps as they appear in the file: Metaflow's
// source order, which both readers report.
func sortStepsByPosition(steps []rawStep) {
	for i := 1; i < len(steps); i++ {
		for j := i; j > 0 && lessPos(steps[j].pos, steps[j-1].pos); j-- {
			steps[j], steps[j-1] = steps[j-1], steps[j]
		}
	}
}

func lessPos(a, b Position) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}
