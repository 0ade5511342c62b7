# Registers envbuild's Metaflow environment and the decorators it needs.
# Names that equal Metaflow's own replace them (extensions override core).

ENVIRONMENTS_DESC = [
    ("envbuild", ".envbuild_environment.EnvbuildEnvironment"),
]

STEP_DECORATORS_DESC = [
    ("pypi", ".envbuild_decorators.PyPIStepDecorator"),
    ("conda", ".envbuild_decorators.CondaStepDecorator"),
    ("envbuild_internal", ".envbuild_decorators.EnvbuildInternalDecorator"),
]

FLOW_DECORATORS_DESC = [
    ("pypi_base", ".envbuild_decorators.PyPIFlowDecorator"),
    ("conda_base", ".envbuild_decorators.CondaFlowDecorator"),
]
