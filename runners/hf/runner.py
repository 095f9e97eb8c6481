"""The hf environment's runner: it only answers Describe (the environment manager verifies a new
environment by starting its runner). Models are built by scripts run in this environment."""

from runners.common.server import RunnerBase, describe_response


class HFRunner(RunnerBase):
    framework = "hf"

    def describe(self):
        import torch
        import transformers

        versions = {"transformers": transformers.__version__, "torch": torch.__version__}
        return describe_response(self.framework, versions, [], [], [], capabilities=["describe"])
