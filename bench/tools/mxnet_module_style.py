"""Rewrite a Gluon export (`<prefix>-symbol.json` + `-0000.params`) with Module-style names, as the
MXNet model zoo's checkpoints have them (`conv0` + `conv0_weight`, BatchNorm `_moving_mean`):
the same network and weights, in the form MMdnn 0.3.1's MXNet parser reads. Runs in an
environment with MXNet.

    python mxnet_module_style.py SRC_PREFIX DST_PREFIX
"""

import json
import sys

import mxnet as mx


def main(src, dst):
    with open(src + "-symbol.json") as f:
        sym = json.load(f)
    names = {n["name"] for n in sym["nodes"]}
    renamed = {}
    for node in sym["nodes"]:
        old = node["name"]
        if node["op"] != "null" and old.endswith("_fwd") and old[:-4] not in names:
            node["name"] = old[:-4]
        elif node["op"] == "null":
            node["name"] = old.replace("_running_mean", "_moving_mean").replace("_running_var", "_moving_var")
        renamed[old] = node["name"]
    with open(dst + "-symbol.json", "w") as f:
        json.dump(sym, f)
    params = {}
    for key, value in mx.nd.load(src + "-0000.params").items():
        kind, _, name = key.partition(":")
        params[kind + ":" + renamed.get(name, name)] = value
    mx.nd.save(dst + "-0000.params", params)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
