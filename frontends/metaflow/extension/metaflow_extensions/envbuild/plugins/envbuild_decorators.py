"""@pypi/@conda that accept --environment=envbuild, and the internal decorator
that gives each step its envbuild image."""

from metaflow.decorators import StepDecorator
from metaflow.plugins.pypi import conda_decorator, pypi_decorator

from .envbuild_environment import ENV_TYPE, EnvbuildException


class _AsConda(object):
    """Presents envbuild's environment to Metaflow's @pypi/@conda hooks, which
    only accept the conda environments; everything else is envbuild's."""

    TYPE = "conda"

    def __init__(self, environment):
        self._environment = environment

    def __getattr__(self, name):
        return getattr(self._environment, name)


def _is_envbuild(environment):
    return getattr(environment, "TYPE", None) == ENV_TYPE


class PyPIStepDecorator(pypi_decorator.PyPIStepDecorator):
    __doc__ = pypi_decorator.PyPIStepDecorator.__doc__

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        if _is_envbuild(environment):
            environment = _AsConda(environment)
        return super(PyPIStepDecorator, self).step_init(
            flow, graph, step, decos, environment, flow_datastore, logger
        )


class PyPIFlowDecorator(pypi_decorator.PyPIFlowDecorator):
    __doc__ = pypi_decorator.PyPIFlowDecorator.__doc__

    def flow_init(self, flow, graph, environment, *args, **kwargs):
        if _is_envbuild(environment):
            environment = _AsConda(environment)
        return super(PyPIFlowDecorator, self).flow_init(
            flow, graph, environment, *args, **kwargs
        )


class CondaStepDecorator(conda_decorator.CondaStepDecorator):
    __doc__ = conda_decorator.CondaStepDecorator.__doc__

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        if not _is_envbuild(environment):
            return super(CondaStepDecorator, self).step_init(
                flow, graph, step, decos, environment, flow_datastore, logger
            )
        super(CondaStepDecorator, self).step_init(
            flow, graph, step, decos, _AsConda(environment), flow_datastore, logger
        )
        # The environment is in the image: none of @conda's runtime hooks
        # (code package extraction, interpreter switch) apply.
        self.environment = environment
        self.disabled = True


class CondaFlowDecorator(conda_decorator.CondaFlowDecorator):
    __doc__ = conda_decorator.CondaFlowDecorator.__doc__

    def flow_init(self, flow, graph, environment, *args, **kwargs):
        if _is_envbuild(environment):
            environment = _AsConda(environment)
        return super(CondaFlowDecorator, self).flow_init(
            flow, graph, environment, *args, **kwargs
        )


class EnvbuildInternalDecorator(StepDecorator):
    """Added to every step by --environment=envbuild: sets the image of the
    step's @kubernetes/@batch to the one envbuild built for the step."""

    name = "envbuild_internal"

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        if not _is_envbuild(environment):
            raise EnvbuildException(
                "@envbuild_internal is added by --environment=envbuild; do not use it directly"
            )
        environment.assign_image(step, decos, logger)
