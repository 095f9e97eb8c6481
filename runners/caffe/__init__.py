"""Caffe runner (brocolli-caffe 9.0.2): .prototxt + .caffemodel in and out, pycaffe inference."""
