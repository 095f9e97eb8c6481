"""Padding arithmetic shared by convolutions and pools (no converters here)."""


def torch_pad_list(begins, ends):
    """F.pad order: last dimension first, (begin, end) pairs."""
    out = []
    for b, e in reversed(list(zip(begins, ends))):
        out += [int(b), int(e)]
    return out


def kwargs(**items):
    """`a=1, b=(1, 2)` for the items that are not None."""
    return ", ".join("%s=%s" % (k, v) for k, v in items.items() if v is not None)
