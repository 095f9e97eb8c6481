"""IR (ONNX) op converters for Emit, one function per op, each writing Caffe layers."""
