"""tf2onnx (1.17, pinned) converting with the weights held about once.

Measured on Keras InceptionV3 (92 MB of weights), tf2onnx.convert.from_keras peaked at 7.3 GB:
- every optimizer pass ends with Node.update_proto, which clears each NodeProto's attributes and
  extends them again; under protobuf's upb runtime the cleared attributes stay in the message's
  arena, so each of the 36 passes (12 optimizers, 3 rounds) kept one more copy of every constant;
- optimize_graph deep-copies the graph before each pass, to restore it should the pass fail; the
  copies are reference cycles that only the cyclic collector frees, so they pile up between its
  runs (with the growth above: 1.8 -> 7.0 GB during the optimizers alone);
- freezing rebuilds a concrete function from the frozen graph, grappler takes it serialized and
  returns it serialized, and the converter imports it into a TensorFlow graph: 0.8 -> 2.6 GB
  before the optimizers start.

`lean()` replaces update_proto by one that builds a fresh NodeProto (the old one and its arena
are freed) and runs the optimizers without the deep copies; a pass that fails then raises
OptimizerFailed, and the caller converts again the usual way. Keras models are converted with
tf2onnx's large_model option, which freezes without grappler and keeps the constants out of the
TensorFlow graph; `inline_external` puts the tensors it set aside back into the model.
"""

import contextlib


class OptimizerFailed(Exception):
    """A tf2onnx optimizer pass raised with no copy of the graph to go back to."""


def _update_proto(self, external_tensor_storage=None):
    """tf2onnx's Node.update_proto writing into a new NodeProto instead of clearing the old one."""
    from onnx import AttributeProto, NodeProto

    body_graphs = self.get_body_graphs()
    if body_graphs:
        for attr_name, sub_graph in body_graphs.items():
            proto = sub_graph.make_graph(
                "graph for " + self.name + " " + attr_name, external_tensor_storage=external_tensor_storage
            )
            self.set_attr(attr_name, proto)
    attrs = list(self.get_onnx_attrs(external_tensor_storage).values())
    old = self._op
    del old.attribute[:]
    del old.input[:]
    del old.output[:]
    op = NodeProto()
    op.CopyFrom(old)  # name, op_type, domain, doc string: what is left
    op.input.extend(self.input)
    op.output.extend(self.output)
    op.attribute.extend(attrs)
    self._op = op
    if external_tensor_storage is None:
        # the node's attributes from now on live in the new proto; those ONNX does not take (kept
        # for the converter) are copied out, so that nothing refers to the old proto's arena
        written = {a.name: a for a in op.attribute}
        for name, attr in list(self._attr.items()):
            if name in written:
                self._attr[name] = written[name]
            else:
                self._attr[name] = AttributeProto()
                self._attr[name].CopyFrom(attr)


@contextlib.contextmanager
def lean():
    import numpy as np
    from tf2onnx import optimizer
    from tf2onnx.graph import Node

    original_optimize = optimizer.optimize_graph
    original_update = Node.update_proto
    added_product = not hasattr(np, "product")

    def optimize_graph(graph, catch_errors=True, optimizers=None):
        try:
            return original_optimize(graph, False, optimizers=optimizers)
        except Exception as exc:
            raise OptimizerFailed(str(exc)) from exc

    optimizer.optimize_graph = optimize_graph
    Node.update_proto = _update_proto
    if added_product:
        np.product = np.prod  # type: ignore[attr-defined]  # large_model's tensor storage calls it (NumPy 1 name)
    try:
        yield
    finally:
        optimizer.optimize_graph = original_optimize
        Node.update_proto = original_update
        if added_product:
            del np.product  # type: ignore[attr-defined]


def _tensors(graph):
    """Every tensor of an ONNX graph: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def inline_external(model, storage):
    """The tensors large_model set aside (ExternalTensorStorage) written back into `model`."""
    from onnx import TensorProto

    if storage is None:
        return model
    data = storage.name_to_tensor_data
    for tensor in _tensors(model.graph):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location")
        if location not in data:
            continue
        tensor.raw_data = data.pop(location)
        del tensor.external_data[:]
        tensor.data_location = TensorProto.DEFAULT
    return model
