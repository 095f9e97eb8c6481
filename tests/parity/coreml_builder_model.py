"""A NeuralNetwork .mlmodel made directly with coremltools' builder, with layers and settings the
IR -> CoreML emitter does not write (ELU, linear, scale with bias, bias, padding, upsample,
TOP_LEFT_HEAVY same padding, L-shaped average pool with padding, concat of two branches), so that
CoreML as a source is tested on a model no mmbroker code wrote.

Run inside the CoreML runner's environment:
    <coreml env python> tests/parity/coreml_builder_model.py OUT.mlmodel
"""

import sys

import numpy as np
from coremltools.models import datatypes
from coremltools.models.neural_network import NeuralNetworkBuilder


def build(path):
    rng = np.random.default_rng(7)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32) * 0.3

    b = NeuralNetworkBuilder(
        [("image", datatypes.Array(3, 12, 12))], [("scores", datatypes.Array(5))], use_float_arraytype=True
    )
    b.add_convolution("conv1", 3, 8, 3, 3, 1, 1, "same", 1, r(3, 3, 3, 8), r(8), True, input_name="image",
                      output_name="c1", same_padding_asymmetry_mode="TOP_LEFT_HEAVY")  # fmt: skip
    b.add_activation("elu1", "ELU", "c1", "a1", params=0.7)
    b.add_scale("scale1", r(8), r(8), True, "a1", "s1", shape_scale=[8], shape_bias=[8])
    b.add_padding("pad1", left=1, right=0, top=2, bottom=1, value=0.5, input_name="s1", output_name="p1")
    b.add_pooling("pool1", 3, 3, 2, 2, "AVERAGE", "VALID", "p1", "q1", exclude_pad_area=True,
                  padding_top=1, padding_bottom=1, padding_left=1, padding_right=1)  # fmt: skip
    b.add_convolution("dw", 1, 8, 3, 3, 1, 1, "valid", 8, r(3, 3, 1, 8), None, False, input_name="q1",
                      output_name="d1", padding_top=1, padding_bottom=1, padding_left=1, padding_right=1)  # fmt: skip
    b.add_activation("lin", "LINEAR", "q1", "l1", params=[0.5, -0.1])
    b.add_elementwise("cat", ["d1", "l1"], "k1", "CONCAT")
    b.add_upsample("up", 2, 2, "k1", "u1", mode="NN")
    b.add_bias("bias1", r(16), "u1", "b1", shape_bias=[16])
    b.add_lrn("lrn", "b1", "n1", alpha=1e-3, beta=0.75, local_size=3, k=2.0)
    b.add_pooling("gap", 0, 0, 1, 1, "MAX", "VALID", "n1", "g1", is_global=True)
    b.add_inner_product("fc", r(5, 16), r(5), 16, 5, True, "g1", "f1")
    b.add_activation("prelu", "PRELU", "f1", "scores", params=np.abs(r(5)))
    with open(path, "wb") as f:
        f.write(b.spec.SerializeToString())


if __name__ == "__main__":
    build(sys.argv[1])
