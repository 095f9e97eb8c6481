"""What the layer converters share: 2-D windows as CoreML's (top, left, bottom, right) amounts."""


def two_d(ctx, spec, what):
    """`spec` (a runners.common.specs window) as CoreML's 2-D (top, left, bottom, right) amounts."""
    if spec.n != 2:
        raise ctx.fail(
            "%d-D %s has no CoreML NeuralNetwork layer (its windows are 2-D)" % (spec.n, what),
            hint="convert to an ML Program instead (-om model.mlpackage)",
        )
    return spec.begins[0], spec.begins[1], spec.ends[0], spec.ends[1]
