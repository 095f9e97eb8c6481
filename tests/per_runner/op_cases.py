"""One-node IR graphs for checking every emitter op by op (plain data, no imports): the classic CNN
vocabulary (convolutions of every kind, pooling, normalisations, activations, element-wise and
broadcast arithmetic, concat/split/slice/reshape/transpose/pad, upsampling, crop, embedding, fully
connected) and more.

Each case is a dict:
    name     unique case name
    op       ONNX op type (ai.onnx domain)
    attrs    node attributes (ONNX names and types)
    inputs   one entry per node input, in order:
               [d0, d1, ...]                       a graph input, random float32 of that shape
               {"shape": [...], "dtype": "..."}    a graph input of another dtype
               {"init": [...]}                     an initializer, random float32 of that shape
               {"value": [...], "dtype": "int64"}  an initializer with exactly this value
               None                                an omitted optional input
    outputs  number of node outputs (default 1)
    opset    IR opset of the graph (18)
    positive True when inputs must be positive (Sqrt, Log, Pow)

test_ops.py builds each graph with onnx.helper, runs it with onnxruntime, converts it for every
target and compares (atol/rtol 1e-5).
"""

OPSET = 18


def _case(name, op, inputs, attrs=None, **extra):
    case = {"name": name, "op": op, "attrs": dict(attrs or {}), "inputs": inputs, "opset": OPSET}
    case.update(extra)
    return case


def _i64(values):
    return {"value": list(values), "dtype": "int64"}


def _f32(values):
    return {"value": values, "dtype": "float32"}


X4 = [2, 3, 9, 9]

CASES = [
    # convolutions
    _case("conv", "Conv", [X4, {"init": [4, 3, 3, 3]}, {"init": [4]}], {"kernel_shape": [3, 3]}),
    _case(
        "conv_pads_stride",
        "Conv",
        [X4, {"init": [4, 3, 3, 3]}, {"init": [4]}],
        {"pads": [1, 1, 1, 1], "strides": [2, 2]},
    ),
    _case("conv_pads_asym", "Conv", [X4, {"init": [4, 3, 3, 3]}], {"pads": [0, 1, 2, 1]}),
    _case(
        "conv_groups_dilation",
        "Conv",
        [[1, 4, 10, 10], {"init": [8, 2, 3, 3]}, {"init": [8]}],
        {"group": 2, "dilations": [2, 2], "pads": [2, 2, 2, 2]},
    ),
    _case("conv_depthwise", "Conv", [[1, 6, 8, 8], {"init": [6, 1, 3, 3]}], {"group": 6, "pads": [1, 1, 1, 1]}),
    _case("conv_same_upper", "Conv", [X4, {"init": [4, 3, 3, 3]}], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    _case("conv_same_lower", "Conv", [[1, 3, 8, 8], {"init": [4, 3, 2, 2]}], {"auto_pad": "SAME_LOWER"}),
    _case("conv_valid", "Conv", [X4, {"init": [4, 3, 3, 3]}], {"auto_pad": "VALID"}),
    _case("conv1d", "Conv", [[2, 3, 12], {"init": [5, 3, 3]}, {"init": [5]}], {"pads": [1, 1]}),
    _case(
        "conv_transpose",
        "ConvTranspose",
        [[1, 4, 5, 5], {"init": [4, 3, 3, 3]}, {"init": [3]}],
        {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]},
    ),
    _case(
        "conv_transpose_asym",
        "ConvTranspose",
        [[1, 4, 5, 5], {"init": [4, 2, 4, 4]}],
        {"strides": [2, 2], "pads": [1, 2, 2, 1]},
    ),
    _case("conv_transpose_groups", "ConvTranspose", [[1, 4, 5, 5], {"init": [4, 3, 3, 3]}], {"group": 2}),
    _case("conv3d", "Conv", [[1, 2, 5, 6, 6], {"init": [3, 2, 3, 3, 3]}, {"init": [3]}], {"pads": [1, 1, 1, 1, 1, 1]}),
    _case(
        "conv_transpose1d",
        "ConvTranspose",
        [[1, 3, 7], {"init": [3, 2, 3]}, {"init": [2]}],
        {"strides": [2], "pads": [1, 1]},
    ),
    _case(
        "conv_transpose_same",
        "ConvTranspose",
        [[1, 4, 5, 5], {"init": [4, 3, 3, 3]}],
        {"strides": [2, 2], "auto_pad": "SAME_UPPER"},
    ),
    _case(
        "conv_transpose_output_shape",
        "ConvTranspose",
        [[1, 4, 5, 5], {"init": [4, 3, 3, 3]}],
        {"strides": [2, 2], "output_shape": [10, 10]},
    ),
    # normalization
    _case(
        "batchnorm",
        "BatchNormalization",
        [X4, {"init": [3]}, {"init": [3]}, {"init": [3]}, {"value": [0.5, 1.0, 2.0], "dtype": "float32"}],
        {"epsilon": 1e-3},
    ),
    _case("instancenorm", "InstanceNormalization", [X4, {"init": [3]}, {"init": [3]}]),
    _case("layernorm", "LayerNormalization", [[2, 5, 8], {"init": [8]}, {"init": [8]}]),
    _case("lrn", "LRN", [[1, 6, 5, 5]], {"size": 3, "alpha": 1e-3, "beta": 0.75, "bias": 2.0}),
    _case("lrn_5", "LRN", [[1, 8, 5, 5]], {"size": 5, "alpha": 1e-4, "beta": 0.75, "bias": 1.0}),
    _case(
        "batchnorm_1d",
        "BatchNormalization",
        [[4, 5], {"init": [5]}, {"init": [5]}, {"init": [5]}, {"value": [1.0] * 5, "dtype": "float32"}],
    ),
    _case("lp_norm", "LpNormalization", [X4], {"axis": 1, "p": 2}),
    # activations
    _case("relu", "Relu", [X4]),
    _case("leaky_relu", "LeakyRelu", [X4], {"alpha": 0.2}),
    _case("prelu_channel", "PRelu", [X4, {"init": [3, 1, 1]}]),
    _case("prelu_scalar", "PRelu", [X4, {"init": [1]}]),
    _case("sigmoid", "Sigmoid", [X4]),
    _case("tanh", "Tanh", [X4]),
    _case("clip_relu6", "Clip", [X4, _f32(0.0), _f32(6.0)]),
    _case("clip_range", "Clip", [X4, _f32(-0.5), _f32(0.7)]),
    _case("clip_min_only", "Clip", [X4, _f32(-0.2)]),
    _case("hard_sigmoid", "HardSigmoid", [X4], {"alpha": 0.2, "beta": 0.5}),
    _case("hard_sigmoid_torch", "HardSigmoid", [X4], {"alpha": 1.0 / 6}),
    _case("hard_swish", "HardSwish", [X4]),
    _case("elu", "Elu", [X4], {"alpha": 0.7}),
    _case("selu", "Selu", [X4]),
    _case("softplus", "Softplus", [X4]),
    _case("mish", "Mish", [X4]),
    _case("erf", "Erf", [X4]),
    _case("softmax", "Softmax", [[2, 5, 7]], {"axis": 1}),
    _case("softmax_2d", "Softmax", [[4, 10]]),
    _case("softsign", "Softsign", [X4]),
    _case("thresholded_relu", "ThresholdedRelu", [X4], {"alpha": 0.3}),
    _case("celu", "Celu", [X4], {"alpha": 1.5}),
    _case("sign", "Sign", [X4]),
    _case("softmax_last", "Softmax", [[2, 5, 7]]),
    _case("log_softmax", "LogSoftmax", [[2, 5, 7]], {"axis": -1}),
    # pooling
    _case("maxpool", "MaxPool", [X4], {"kernel_shape": [3, 3], "strides": [2, 2]}),
    _case("maxpool_pads", "MaxPool", [X4], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    _case("maxpool_ceil", "MaxPool", [[1, 3, 8, 8]], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    _case("maxpool_asym", "MaxPool", [X4], {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 1, 1]}),
    _case(
        "maxpool_same", "MaxPool", [[1, 3, 8, 8]], {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}
    ),
    _case("maxpool_dilation", "MaxPool", [X4], {"kernel_shape": [2, 2], "dilations": [2, 2]}),
    _case("avgpool", "AveragePool", [X4], {"kernel_shape": [3, 3], "strides": [2, 2]}),
    _case("avgpool_pads_exclude", "AveragePool", [X4], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    _case(
        "avgpool_pads_include",
        "AveragePool",
        [X4],
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
    ),
    _case("avgpool_ceil", "AveragePool", [[1, 3, 8, 8]], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    _case(
        "avgpool_asym_include",
        "AveragePool",
        [X4],
        {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 1, 1], "count_include_pad": 1},
    ),
    _case("global_avgpool", "GlobalAveragePool", [X4]),
    _case("maxpool1d", "MaxPool", [[2, 3, 12]], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    _case("avgpool1d", "AveragePool", [[2, 3, 12]], {"kernel_shape": [3], "strides": [2]}),
    _case("maxpool3d", "MaxPool", [[1, 2, 6, 6, 6]], {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
    _case(
        "avgpool_asym_exclude", "AveragePool", [X4], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 1, 1]}
    ),
    _case(
        "avgpool_same_exclude",
        "AveragePool",
        [X4],
        {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    ),
    _case("lp_pool", "LpPool", [X4], {"kernel_shape": [2, 2], "p": 2}),
    _case("global_lp_pool", "GlobalLpPool", [X4], {"p": 2}),
    _case("global_maxpool", "GlobalMaxPool", [X4]),
    # linear algebra
    _case("gemm_transb", "Gemm", [[4, 6], {"init": [5, 6]}, {"init": [5]}], {"transB": 1}),
    _case("gemm_plain", "Gemm", [[4, 6], {"init": [6, 5]}, {"init": [1, 5]}]),
    _case(
        "gemm_alpha_beta", "Gemm", [[4, 6], {"init": [5, 6]}, {"init": [5]}], {"transB": 1, "alpha": 0.5, "beta": 2.0}
    ),
    _case("gemm_transa", "Gemm", [[6, 4], {"init": [6, 5]}, {"init": [4, 5]}], {"transA": 1}),
    _case("gemm_no_c", "Gemm", [[4, 6], {"init": [6, 5]}]),
    _case("matmul_const", "MatMul", [[2, 3, 6], {"init": [6, 5]}]),
    _case("matmul_vars", "MatMul", [[2, 3, 6], [2, 6, 4]]),
    # element-wise
    _case("add", "Add", [X4, X4]),
    _case("add_broadcast_const", "Add", [X4, {"init": [3, 1, 1]}]),
    _case("add_scalar", "Add", [X4, _f32(1.5)]),
    _case("sub", "Sub", [X4, [1, 3, 1, 9]]),
    _case("sub_scalar_left", "Sub", [_f32(1.0), X4]),
    _case("mul", "Mul", [X4, X4]),
    _case("div", "Div", [X4, {"init": [9]}], positive=True),
    _case("pow", "Pow", [X4, _f32(2.0)]),
    _case("pow_fractional", "Pow", [X4, X4], positive=True),
    _case("sqrt", "Sqrt", [X4], positive=True),
    _case("exp", "Exp", [X4]),
    _case("log", "Log", [X4], positive=True),
    _case("neg", "Neg", [X4]),
    _case("abs", "Abs", [X4]),
    _case("reciprocal", "Reciprocal", [X4], positive=True),
    _case("floor", "Floor", [X4]),
    _case("ceil", "Ceil", [X4]),
    _case("max", "Max", [X4, X4, X4]),
    _case("min", "Min", [X4, X4]),
    _case("sum", "Sum", [X4, X4, X4]),
    _case("sum_two", "Sum", [X4, X4]),
    _case("max_two", "Max", [X4, X4]),
    _case("mean_three", "Mean", [X4, X4, X4]),
    _case("mul_broadcast_const", "Mul", [X4, {"init": [3, 1, 1]}]),
    _case("div_vars", "Div", [X4, X4], positive=True),
    _case("mean", "Mean", [X4, X4]),
    _case("where", "Where", [{"shape": X4, "dtype": "bool"}, X4, X4]),
    _case("greater", "Greater", [X4, X4]),
    _case("cast_int", "Cast", [X4], {"to": 7}),
    _case("cast_half", "Cast", [X4], {"to": 10}),
    # shape and layout
    _case("concat", "Concat", [X4, [2, 5, 9, 9]], {"axis": 1}),
    _case("concat_const", "Concat", [X4, {"init": [2, 1, 9, 9]}], {"axis": -3}),
    _case("flatten", "Flatten", [X4]),
    _case("flatten_axis2", "Flatten", [X4], {"axis": 2}),
    _case("flatten_axis0", "Flatten", [X4], {"axis": 0}),
    _case("reshape", "Reshape", [X4, _i64([2, -1])]),
    _case("reshape_zero", "Reshape", [X4, _i64([0, 3, -1])]),
    _case("transpose", "Transpose", [X4], {"perm": [0, 2, 3, 1]}),
    _case("transpose_default", "Transpose", [[2, 3, 4]]),
    _case("squeeze", "Squeeze", [[2, 1, 9, 1], _i64([1, 3])]),
    _case("squeeze_all", "Squeeze", [[2, 1, 9, 1]]),
    _case("unsqueeze", "Unsqueeze", [[2, 3, 9], _i64([1, -1])]),
    _case("identity", "Identity", [X4]),
    _case("depth_to_space_dcr", "DepthToSpace", [[1, 8, 3, 4]], {"blocksize": 2, "mode": "DCR"}),
    _case("depth_to_space_crd", "DepthToSpace", [[1, 8, 3, 4]], {"blocksize": 2, "mode": "CRD"}),
    _case("space_to_depth", "SpaceToDepth", [[1, 2, 4, 6]], {"blocksize": 2}),
    _case("crop", "Slice", [X4, _i64([1, 2]), _i64([8, 7]), _i64([2, 3])]),
    _case("embedding", "Gather", [{"init": [10, 6]}, {"value": [[1, 3, 3], [0, 9, 2]], "dtype": "int64"}]),
    _case("scatter_nd_const", "ScatterND", [[2, 8], _i64([[0, 3], [1, 5]]), _f32([7.0, -2.0])]),
    _case("dropout", "Dropout", [X4]),
    _case("pad_constant", "Pad", [X4, _i64([0, 0, 1, 2, 0, 0, 3, 0]), _f32(0.5)]),
    _case("pad_reflect", "Pad", [X4, _i64([0, 0, 1, 2, 0, 0, 2, 1])], {"mode": "reflect"}),
    _case("pad_edge", "Pad", [X4, _i64([0, 0, 1, 2, 0, 0, 2, 1])], {"mode": "edge"}),
    _case("pad_axes", "Pad", [X4, _i64([1, 2, 0, 3]), None, _i64([1, 3])]),
    _case("slice", "Slice", [X4, _i64([1, 2]), _i64([3, 8]), _i64([1, 3])]),
    _case("slice_steps", "Slice", [X4, _i64([0, -1]), _i64([9, 0]), _i64([2, 3]), _i64([2, 1])]),
    _case("slice_reverse", "Slice", [X4, _i64([-1]), _i64([-10]), _i64([3]), _i64([-2])]),
    _case("slice_to_end", "Slice", [X4, _i64([1]), _i64([9223372036854775807]), _i64([-1])]),
    _case("split_sizes", "Split", [X4, _i64([2, 7])], {"axis": 2}, outputs=2),
    _case("split_equal", "Split", [[2, 6, 4]], {"axis": 1, "num_outputs": 3}, outputs=3),
    _case("split_uneven", "Split", [[2, 7, 4]], {"axis": 1, "num_outputs": 3}, outputs=3),
    _case("gather_scalar", "Gather", [X4, {"value": 2, "dtype": "int64"}], {"axis": 1}),
    _case("gather_list", "Gather", [X4, _i64([0, 2, -1])], {"axis": 3}),
    _case("gather_2d", "Gather", [[5, 4], {"value": [[0, 1], [4, 2]], "dtype": "int64"}]),
    _case("expand", "Expand", [[3, 1], _i64([2, 3, 4])]),
    _case("tile", "Tile", [[2, 3], _i64([2, 2])]),
    # indexing, logic and integer arithmetic of attention masks and position ids
    _case("gather_elements_negative", "GatherElements", [[3, 4], _i64([[0, -1], [2, 0], [3, -4]])], {"axis": 1}),
    _case("gather_nd_negative", "GatherND", [[3, 4, 5], _i64([[0, 1], [2, -1]])]),
    _case("cumsum", "CumSum", [[3, 4], {"value": 1, "dtype": "int64"}]),
    _case(
        "cumsum_exclusive_reverse", "CumSum", [[3, 4], {"value": -2, "dtype": "int64"}], {"exclusive": 1, "reverse": 1}
    ),
    _case("and", "And", [{"shape": [3, 4], "dtype": "bool"}, {"shape": [3, 4], "dtype": "bool"}]),
    _case("not", "Not", [{"shape": [3, 4], "dtype": "bool"}]),
    _case("equal_int", "Equal", [{"shape": [3, 4], "dtype": "int64"}, _i64([0, 1, -1, 2])]),
    _case("add_int", "Add", [{"shape": [3, 4], "dtype": "int64"}, {"shape": [3, 4], "dtype": "int64"}]),
    _case(
        "layernorm_2axes",
        "LayerNormalization",
        [[2, 3, 4, 5], {"init": [4, 5]}, {"init": [4, 5]}],
        {"axis": -2, "epsilon": 1e-3},
    ),
    _case("matmul_batch_broadcast", "MatMul", [[2, 1, 3, 6], [4, 6, 5]]),
    # recurrent layers (weights and states [directions, batch, hidden], sequence first)
    _case(
        "lstm",
        "LSTM",
        [[5, 2, 4], {"init": [1, 12, 4]}, {"init": [1, 12, 3]}, {"init": [1, 24]}],
        {"hidden_size": 3},
        outputs=3,
    ),
    _case(
        "lstm_bidirectional_states",
        "LSTM",
        [[5, 2, 4], {"init": [2, 12, 4]}, {"init": [2, 12, 3]}, {"init": [2, 24]}, None, [2, 2, 3], [2, 2, 3]],
        {"hidden_size": 3, "direction": "bidirectional"},
        outputs=3,
    ),
    _case(
        "lstm_reverse_peephole",
        "LSTM",
        [[5, 2, 4], {"init": [1, 12, 4]}, {"init": [1, 12, 3]}, None, None, None, None, {"init": [1, 9]}],
        {"hidden_size": 3, "direction": "reverse"},
        outputs=3,
    ),
    _case(
        "gru_initial_state",
        "GRU",
        [[5, 2, 4], {"init": [1, 9, 4]}, {"init": [1, 9, 3]}, {"init": [1, 18]}, None, [1, 2, 3]],
        {"hidden_size": 3},
        outputs=2,
    ),
    _case(
        "gru_bidirectional",
        "GRU",
        [[5, 2, 4], {"init": [2, 9, 4]}, {"init": [2, 9, 3]}, {"init": [2, 18]}],
        {"hidden_size": 3, "direction": "bidirectional"},
        outputs=2,
    ),
    _case(
        "gru_linear_before_reset",
        "GRU",
        [[5, 2, 4], {"init": [1, 9, 4]}, {"init": [1, 9, 3]}, {"init": [1, 18]}],
        {"hidden_size": 3, "linear_before_reset": 1},
        outputs=2,
    ),
    _case(
        "rnn_forward",
        "RNN",
        [[5, 2, 4], {"init": [1, 3, 4]}, {"init": [1, 3, 3]}, {"init": [1, 6]}],
        {"hidden_size": 3},
        outputs=2,
    ),
    _case(
        "rnn_reverse_relu",
        "RNN",
        [[5, 2, 4], {"init": [1, 3, 4]}, {"init": [1, 3, 3]}],
        {"hidden_size": 3, "direction": "reverse", "activations": ["Relu"]},
        outputs=2,
    ),
    # reductions
    _case("reduce_mean", "ReduceMean", [X4, _i64([2, 3])]),
    _case("reduce_mean_nokeep", "ReduceMean", [X4, _i64([1])], {"keepdims": 0}),
    _case("reduce_sum", "ReduceSum", [X4, _i64([-1])]),
    _case("reduce_sum_all", "ReduceSum", [X4], {"keepdims": 0}),
    _case("reduce_max", "ReduceMax", [X4, _i64([1])]),
    _case("reduce_min", "ReduceMin", [X4, _i64([2])], {"keepdims": 0}),
    _case("argmax", "ArgMax", [X4], {"axis": 1}),
    _case("reduce_prod", "ReduceProd", [X4, _i64([3])]),
    _case("reduce_l2", "ReduceL2", [X4, _i64([2, 3])]),
    _case("reduce_log_sum_exp", "ReduceLogSumExp", [X4, _i64([1])]),
    _case("argmin", "ArgMin", [X4], {"axis": 2, "keepdims": 0}),
    # resize
    _case(
        "resize_nearest_scales",
        "Resize",
        [[1, 2, 4, 5], None, _f32([1.0, 1.0, 2.0, 2.0])],
        {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    ),
    _case(
        "resize_nearest_sizes",
        "Resize",
        [[1, 2, 4, 5], None, None, _i64([1, 2, 7, 9])],
        {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    ),
    _case(
        "resize_linear",
        "Resize",
        [[1, 2, 4, 5], None, _f32([1.0, 1.0, 2.0, 2.0])],
        {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
    ),
    _case(
        "resize_linear_align",
        "Resize",
        [[1, 2, 4, 5], None, None, _i64([1, 2, 7, 9])],
        {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
    ),
    _case(
        "resize_nearest_half_pixel",
        "Resize",
        [[1, 2, 4, 5], None, _f32([1.0, 1.0, 2.0, 2.0])],
        {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"},
    ),
    _case(
        "resize_cubic_exclude_outside",
        "Resize",
        [[1, 2, 4, 5], None, _f32([1.0, 1.0, 0.6, 1.5])],
        {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1},
    ),
    _case(
        "resize_crop_and_resize",
        "Resize",
        [[1, 2, 6, 6], _f32([0.0, 0.0, 0.2, 0.3, 1.0, 1.0, 0.8, 1.2]), None, _i64([1, 2, 4, 4])],
        {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 2.0},
    ),
    # element-wise beyond the classic vocabulary
    _case("mod_fmod", "Mod", [[2, 5], [2, 5]], {"fmod": 1}),
    _case("mod_int", "Mod", [{"shape": [2, 3], "dtype": "int32"}, {"value": [3, -2, 5], "dtype": "int32"}]),
    _case(
        "bit_shift",
        "BitShift",
        [{"shape": [6], "dtype": "uint8"}, {"value": [1, 2, 3, 0, 1, 2], "dtype": "uint8"}],
        {"direction": "LEFT"},
    ),  # fmt: skip
    _case("round", "Round", [[2, 5]]),
    _case("is_nan", "IsNaN", [[2, 5]]),
    _case("is_inf", "IsInf", [[2, 5]], {"detect_negative": 0}),
    _case("xor", "Xor", [{"shape": [2, 5], "dtype": "bool"}, {"shape": [2, 5], "dtype": "bool"}]),
    _case("bitwise_and", "BitwiseAnd", [{"shape": [2, 5], "dtype": "int32"}, {"shape": [5], "dtype": "int32"}]),
    _case("bitwise_or", "BitwiseOr", [{"shape": [2, 5], "dtype": "int32"}, {"shape": [2, 5], "dtype": "int32"}]),
    _case("bitwise_xor", "BitwiseXor", [{"shape": [2, 5], "dtype": "int16"}, {"shape": [2, 5], "dtype": "int16"}]),
    _case("bitwise_not", "BitwiseNot", [{"shape": [2, 5], "dtype": "int32"}]),
    _case("tan", "Tan", [[2, 5]]),
    _case("asin", "Asin", [[2, 5]]),
    _case("acos", "Acos", [[2, 5]]),
    _case("atan", "Atan", [[2, 5]]),
    _case("sinh", "Sinh", [[2, 5]]),
    _case("cosh", "Cosh", [[2, 5]]),
    _case("asinh", "Asinh", [[2, 5]]),
    _case("acosh", "Acosh", [[2, 5]], positive=True),
    _case("atanh", "Atanh", [[2, 5]]),
    _case("shrink", "Shrink", [[2, 5]], {"lambd": 0.5, "bias": 0.2}),
    _case("hardmax", "Hardmax", [[3, 4]], {"axis": 0}),
    # indexing
    _case("gather_elements", "GatherElements", [[3, 4], _i64([[0, 2, 1, 3], [3, 0, -1, 1]])], {"axis": 1}),
    _case("gather_nd", "GatherND", [[2, 3, 4], _i64([[0, 1], [1, 2]])]),
    _case(
        "scatter_elements",
        "ScatterElements",
        [[3, 4], _i64([[0, 2, 1, 0], [2, 2, 0, 1]]), [2, 4]],
        {"axis": 0, "reduction": "add"},
    ),  # fmt: skip
    _case("scatter_nd_max", "ScatterND", [[4, 3], _i64([[1], [3], [1]]), [3, 3]], {"reduction": "max"}),
    _case("one_hot", "OneHot", [_i64([0, 3, -1, 5]), {"value": 5, "dtype": "int64"}, [2]], {"axis": 0}),
    _case("top_k", "TopK", [[3, 5], _i64([2])], {"axis": 1}, outputs=2),
    _case("compress", "Compress", [[3, 4], {"value": [True, False, True], "dtype": "bool"}], {"axis": 0}),
    _case("non_zero", "NonZero", [{"shape": [3, 4], "dtype": "bool"}]),
    _case("trilu", "Trilu", [[4, 5], {"value": 1, "dtype": "int64"}], {"upper": 0}),
    _case("unique", "Unique", [{"shape": [8], "dtype": "int64"}], {"sorted": 0}, outputs=4),
    _case("non_max_suppression", "NonMaxSuppression", [[1, 5, 4], [1, 2, 5], _i64([2]), _f32([0.3])]),
    _case("optional_get_element", "OptionalGetElement", [[2, 3]]),
    _case("center_crop_pad", "CenterCropPad", [[5, 6, 3], _i64([4, 8])], {"axes": [0, 1]}),
    # generators and sequences
    _case("range", "Range", [[], _f32(5.0), _f32(0.75)]),
    _case("eye_like", "EyeLike", [[3, 4]], {"k": 1}),
    _case("cum_sum", "CumSum", [[2, 5], {"value": 1, "dtype": "int64"}], {"exclusive": 1, "reverse": 1}),
    _case("reverse_sequence", "ReverseSequence", [[4, 3, 2], _i64([4, 1, 3])], {"batch_axis": 1, "time_axis": 0}),
    # losses
    _case(
        "nll_loss",
        "NegativeLogLikelihoodLoss",
        [[3, 5, 2], _i64([[1, 0], [4, 2], [0, 3]]), {"init": [5]}],
        {"ignore_index": 3},
    ),  # fmt: skip
    _case(
        "softmax_cross_entropy", "SoftmaxCrossEntropyLoss", [[3, 5], _i64([1, 0, 4])], {"reduction": "sum"}, outputs=2
    ),  # fmt: skip
    # linear algebra, normalisation
    _case("einsum", "Einsum", [[2, 3, 4], [2, 4, 5]], {"equation": "bij,bjk->bik"}),
    _case("det", "Det", [[2, 3, 3]]),
    _case("mean_variance_normalization", "MeanVarianceNormalization", [[2, 3, 4, 4]], {"axes": [0, 2, 3]}),
    _case(
        "layer_norm_stats",
        "LayerNormalization",
        [[2, 3, 4], {"init": [3, 4]}, {"init": [3, 4]}],
        {"axis": 1},
        outputs=3,
    ),  # fmt: skip
    _case("max_pool_indices", "MaxPool", [[1, 2, 6, 6]], {"kernel_shape": [2, 2], "strides": [2, 2]}, outputs=2),
    _case(
        "max_unpool",
        "MaxUnpool",
        [[1, 1, 2, 2], _i64([[[[5, 7], [13, 15]]]])],
        {"kernel_shape": [2, 2], "strides": [2, 2]},
    ),  # fmt: skip
    _case(
        "roi_align",
        "RoiAlign",
        [[1, 2, 8, 8], _f32([[0.5, 1.0, 6.0, 5.5], [2.0, 0.0, 7.5, 7.0]]), _i64([0, 0])],
        {"output_height": 3, "output_width": 2, "sampling_ratio": 2, "spatial_scale": 0.9},
    ),  # fmt: skip
    _case("col2im", "Col2Im", [[1, 4, 9], _i64([4, 4]), _i64([2, 2])]),
    # recurrent
    _case(
        "rnn",
        "RNN",
        [[3, 2, 4], {"init": [1, 5, 4]}, {"init": [1, 5, 5]}, {"init": [1, 10]}],
        {"hidden_size": 5},
        outputs=2,
    ),  # fmt: skip
    _case(
        "gru",
        "GRU",
        [[3, 2, 4], {"init": [1, 15, 4]}, {"init": [1, 15, 5]}, {"init": [1, 30]}],
        {"hidden_size": 5, "linear_before_reset": 1},
        outputs=2,
    ),  # fmt: skip
    _case(
        "gru_reset_first",
        "GRU",
        [[3, 2, 4], {"init": [1, 15, 4]}, {"init": [1, 15, 5]}, {"init": [1, 30]}],
        {"hidden_size": 5},
        outputs=2,
    ),  # fmt: skip
    _case(
        "lstm_bidirectional",
        "LSTM",
        [[3, 2, 4], {"init": [2, 20, 4]}, {"init": [2, 20, 5]}, {"init": [2, 40]}],
        {"hidden_size": 5, "direction": "bidirectional"},
        outputs=3,
    ),  # fmt: skip
    _case(
        "lstm_reverse",
        "LSTM",
        [[3, 2, 4], {"init": [1, 20, 4]}, {"init": [1, 20, 5]}, {"init": [1, 40]}],
        {"hidden_size": 5, "direction": "reverse"},
        outputs=2,
    ),  # fmt: skip
    # signal processing
    _case("dft", "DFT", [[2, 8, 1]], {"axis": 1, "onesided": 1}),
    _case("stft", "STFT", [[1, 64, 1], {"value": 8, "dtype": "int64"}, {"init": [16]}]),
    # quantization
    _case("quantize_linear", "QuantizeLinear", [[2, 5], _f32(0.05), {"value": 128, "dtype": "uint8"}]),
    _case(
        "dequantize_linear",
        "DequantizeLinear",
        [{"shape": [2, 5], "dtype": "uint8"}, _f32(0.05), {"value": 128, "dtype": "uint8"}],
    ),  # fmt: skip
    _case("dynamic_quantize_linear", "DynamicQuantizeLinear", [[2, 5]], outputs=3),
    _case(
        "matmul_integer",
        "MatMulInteger",
        [
            {"shape": [2, 3], "dtype": "uint8"},
            {"value": [[1, 4], [2, 5], [3, 6]], "dtype": "uint8"},
            {"value": 1, "dtype": "uint8"},
        ],
    ),  # fmt: skip
    _case(
        "conv_integer",
        "ConvInteger",
        [{"shape": [1, 1, 4, 4], "dtype": "uint8"}, {"value": [[[[1, 2], [3, 4]]]], "dtype": "uint8"}],
        {"pads": [1, 1, 1, 1]},
    ),  # fmt: skip
    _case(
        "qlinear_matmul",
        "QLinearMatMul",
        [
            {"shape": [2, 3], "dtype": "uint8"},
            _f32(0.02),
            {"value": 100, "dtype": "uint8"},
            {"value": [[1, 4], [2, 5], [3, 6]], "dtype": "uint8"},
            _f32(0.1),
            {"value": 2, "dtype": "uint8"},
            _f32(0.05),
            {"value": 120, "dtype": "uint8"},
        ],
    ),  # fmt: skip
    _case(
        "qlinear_conv",
        "QLinearConv",
        [
            {"shape": [1, 1, 4, 4], "dtype": "uint8"},
            _f32(0.02),
            {"value": 100, "dtype": "uint8"},
            {"value": [[[[1, 2], [3, 4]]]], "dtype": "uint8"},
            _f32(0.1),
            {"value": 2, "dtype": "uint8"},
            _f32(0.05),
            {"value": 120, "dtype": "uint8"},
        ],
    ),  # fmt: skip
]
