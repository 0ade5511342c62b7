package metaflow

// Metaflow's own decorators (metaflow.plugins STEP_DECORATORS and
// FLOW_DECORATORS). Any other decorator on a flow or a step may be a
// mutator or a user decorator that adds or changes @pypi/@conda when the
// flow loads, which only Metaflow can tell.
var (
	knownStepDecorators = map[string]bool{
		"step": true, "pypi": true, "conda": true, "kubernetes": true, "batch": true,
		"card": true, "catch": true, "environment": true, "parallel": true, "pytorch_parallel": true,
		"resources": true, "retry": true, "secrets": true, "timeout": true,
	}
	knownFlowDecorators = map[string]bool{
		"pypi_base": true, "conda_base": true, "project": true, "schedule": true,
		"trigger": true, "trigger_on_finish": true, "exit_hook": true,
		"airflow_external_task_sensor": true, "airflow_s3_key_sensor": true,
	}
)

// checkKnownDecorators refuses, statically, decorators whose effect on the
// environment decorators cannot be known without loading the flow.
func checkKnownDecorators(raw *rawFlow) error {
	unknown := func(d rawDecorator, where string) error {
		name := "@" + d.name
		if d.name == "" {
			name = "this decorator"
		}
		e := errorf(d.pos, "%s on %s is not one of Metaflow's decorators: it may add or change @pypi/@conda when the flow loads (a mutator or a user decorator); install metaflow (pip install metaflow) so envbuild can load the flow", name, where)
		e.computed = true
		return e
	}
	for _, d := range raw.decorators {
		if !knownFlowDecorators[d.name] && !knownStepDecorators[d.name] {
			return unknown(d, "flow "+raw.name)
		}
	}
	for _, s := range raw.steps {
		for _, d := range s.decorators {
			if !knownStepDecorators[d.name] {
				return unknown(d, "step "+s.name)
			}
		}
	}
	return nil
}
