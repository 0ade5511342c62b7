"""A flow whose decorator arguments come from a Metaflow Config.

The packages live in config_flow.json beside this file. Metaflow resolves the
Config when it loads the flow, so envbuild needs metaflow installed to read
it (pip install metaflow); without it envbuild says where the computed
argument is.
"""

from metaflow import Config, FlowSpec, config_expr, pypi, pypi_base, step


@pypi_base(packages=config_expr("env.base_packages"), python="3.11")
class ConfigFlow(FlowSpec):
    env = Config("env", default="config_flow.json")

    @pypi(packages=env.train_packages)
    @step
    def start(self):
        import yaml

        self.doc = yaml.safe_dump({"ok": True})
        self.next(self.end)

    @step
    def end(self):
        print(self.doc)


if __name__ == "__main__":
    ConfigFlow()
