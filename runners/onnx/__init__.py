"""The ONNX runner: .onnx files in and out, onnxruntime for inference."""
