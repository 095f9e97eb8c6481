"""The netron environment's runner: it only answers Describe (the environment manager verifies a
new environment by starting its runner). The viewer itself is `python -m runners.netron.serve`."""

from runners.common.server import RunnerBase, describe_response


class NetronRunner(RunnerBase):
    framework = "netron"

    def describe(self):
        import netron

        return describe_response(self.framework, {"netron": netron.__version__}, [], [], [], capabilities=["describe"])
