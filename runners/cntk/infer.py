"""Run CNTK models; outputs and intermediates keyed by their IR value names."""

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import check_inputs, named_inputs
from runners.common.rpc import pb
from runners.common.tensors import to_proto

from . import loading


def run(request):
    C = loading.import_cntk()
    path = loading.model_file(list(request.model))
    model = loading.load(path)
    args = list(model.arguments)
    names = [loading.argument_name(a) for a in args]
    feeds = named_inputs(request.inputs, names)
    # a sequence input takes [batch, length] + its shape: sequences of one length
    loading.check_arguments(model, path, dict((n, feeds[n].shape[1]) for n, a in zip(names, args)
                                              if n in feeds and feeds[n].ndim == len(a.shape) + 2))  # fmt: skip
    # an input with the batch axis takes any batch; one without (dynamic_axes=[]) its exact shape
    check_inputs([(n, [None] * len(a.dynamic_axes) + list(a.shape)) for n, a in zip(names, args)], feeds,
                 file=path)  # fmt: skip
    functions = loading.top_functions(model)
    ir_names = loading.output_names(functions)
    outputs = list(model.outputs)
    wanted_names = [o for o in request.options.get("outputs", "").split(",") if o]
    if wanted_names:  # --dstNode: read these values instead of the model's outputs
        outputs = _named_outputs(functions, ir_names, wanted_names, path)
    extra = []
    if request.intermediates:
        wanted = set(o.uid for o in outputs)
        for fn in reversed(functions):
            for out in fn.outputs:
                if out.uid not in wanted:
                    wanted.add(out.uid)
                    extra.append(out)
    target = C.combine(outputs + extra) if extra or wanted_names else model
    data = {a: np.ascontiguousarray(feeds[n], dtype=np.float32) for n, a in zip(names, args)}
    try:
        values = target.eval(data, as_numpy=True) if (extra or len(outputs) > 1) else {outputs[0]: target.eval(data)}
    except Exception as exc:
        raise RunnerError("infer-failed", "CNTK failed: %s" % str(exc).strip().splitlines()[0][:300], file=path)
    if not isinstance(values, dict):
        values = {outputs[0]: values}
    by_uid = dict((v.uid, a) for v, a in values.items())
    ws = request.workspace or None
    resp = pb.InferResponse(engine="cntk %s" % C.__version__)
    for out in outputs:
        resp.outputs.append(to_proto(ir_names.get(out.uid, out.uid), np.asarray(by_uid[out.uid]), ws))
    for out in extra:
        if out.uid in by_uid:
            resp.intermediates.append(to_proto(ir_names[out.uid], np.asarray(by_uid[out.uid]), ws))
    return resp


def _named_outputs(functions, ir_names, wanted, path):
    by_name = {}
    for fn in functions:
        for out in fn.outputs:
            by_name.setdefault(ir_names.get(out.uid, out.uid), out)
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise RunnerError(
            "unknown-node",
            "no value named %s among the model's function outputs" % ", ".join(missing),
            file=path,
            hint="values CNTK can return: %s" % ", ".join(sorted(by_name)[:30]),
        )
    return [by_name[n] for n in wanted]
