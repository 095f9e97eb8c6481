"""Kernel, stride, pad and dilation of Convolution and Pooling parameters, per spatial axis."""


def values(param, name, n, default):
    """`name` of a Convolution/Pooling parameter for `n` spatial axes: `name_h`/`name_w` when set,
    else the (repeated or single) field broadcast, else `default`."""
    fields = param.DESCRIPTOR.fields_by_name
    hw = "kernel" if name == "kernel_size" else name
    if n == 2 and (hw + "_h") in fields and (param.HasField(hw + "_h") or param.HasField(hw + "_w")):
        return [int(getattr(param, hw + "_h")), int(getattr(param, hw + "_w"))]
    field = fields[name]
    if _repeated(field):
        given = [int(v) for v in getattr(param, name)]
    else:
        given = [int(getattr(param, name))] if param.HasField(name) else []
    if not given:
        return [default] * n
    if len(given) == 1:
        return given * n
    return given


def _repeated(field):
    is_repeated = getattr(field, "is_repeated", None)
    if is_repeated is not None:
        return bool(is_repeated)
    return field.label == field.LABEL_REPEATED
