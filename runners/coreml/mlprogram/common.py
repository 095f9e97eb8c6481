"""Registries and naming shared by the ML Program writer and reader."""

import re

from runners.common.registry import Registry

TO_MIL = Registry("coreml", "emit (ML Program)")
FROM_MIL = Registry("coreml", "parse (ML Program)")
NAMES_KEY = "mmbroker.names"  # model metadata: JSON {MIL name: IR value name}
MIL_OPSET = 1  # FROM_MIL converters are registered per MIL op type, all "since 1"


class Names(object):
    """IR value names -> unique MIL identifiers, and back."""

    def __init__(self):
        self.to_ir = {}
        self._by_ir = {}

    def mil(self, ir_name):
        if ir_name in self._by_ir:
            return self._by_ir[ir_name]
        base = re.sub(r"\W", "_", ir_name) or "v"
        if not re.match(r"[A-Za-z]", base):
            base = "v_" + base
        name, k = base, 1
        while name in self.to_ir:
            k += 1
            name = "%s_%d" % (base, k)
        self.to_ir[name] = ir_name
        self._by_ir[ir_name] = name
        return name
