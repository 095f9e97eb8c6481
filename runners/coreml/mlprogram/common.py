"""Registries and naming shared by the ML Program writer and reader."""

import re

from runners.common.registry import Registry

TO_MIL = Registry("coreml", "emit (ML Program)", package="runners.coreml.mlprogram.emit_ops")
FROM_MIL = Registry("coreml", "parse (ML Program)", package="runners.coreml.mlprogram.parse_ops")
NAMES_KEY = "mmbroker.names"  # model metadata: JSON {MIL name: IR value name}
MIL_OPSET = 1  # FROM_MIL converters are registered per MIL op type, all "since 1"


class Names(object):
    """IR value names -> unique MIL identifiers, and back."""

    def __init__(self):
        self.to_ir = {}
        self._by_ir = {}
        self._fresh = set()

    def mil(self, ir_name):
        if ir_name in self._by_ir:
            return self._by_ir[ir_name]
        base = re.sub(r"\W", "_", ir_name) or "v"
        if not re.match(r"[A-Za-z]", base):
            base = "v_" + base
        name, k = base, 1
        while name in self.to_ir or name in self._fresh:
            k += 1
            name = "%s_%d" % (base, k)
        self.to_ir[name] = ir_name
        self._by_ir[ir_name] = name
        return name

    def fresh(self, base="v"):
        """A MIL identifier no IR value maps to (for ops between two of an IR node's). Repeats get
        `_v2`, `_v3`...: a MIL op with several outputs names them `<op name>_0`, `_1`..."""
        name, k = base, 1
        while name in self.to_ir or name in self._fresh:
            k += 1
            name = "%s_v%d" % (base, k)
        self._fresh.add(name)
        return name
