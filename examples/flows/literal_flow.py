"""A flow whose environment decorators are all literals.

envbuild reads it with or without Metaflow installed:

    envbuild flow build examples/flows/literal_flow.py

Steps: a @pypi step with its own python, a step on Kubernetes with a written
base image, a @conda step, a step whose @pypi is disabled (it runs in its base
image unchanged) and a plain end step. Package sets are kept small on purpose.
"""

from metaflow import FlowSpec, conda, kubernetes, pypi, step


class LiteralFlow(FlowSpec):
    @pypi(python="3.11", packages={"requests": "2.32.3"})
    @step
    def start(self):
        import requests

        self.requests_version = requests.__version__
        self.next(self.transform)

    @kubernetes(image="python:3.11-slim", cpu=1, memory=1024)
    @pypi(packages={"pyyaml": "6.0.2", "six": ""})
    @step
    def transform(self):
        import yaml

        self.doc = yaml.safe_dump({"requests": self.requests_version})
        self.next(self.tiny_conda)

    @conda(python="3.11", packages={"conda-forge::six": "1.16.0"})
    @step
    def tiny_conda(self):
        import six

        self.six_version = six.__version__
        self.next(self.plain)

    @pypi(disabled=True)
    @step
    def plain(self):
        self.next(self.end)

    @step
    def end(self):
        print(self.doc, self.six_version)


if __name__ == "__main__":
    LiteralFlow()
