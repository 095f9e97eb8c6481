"""Caffe layer converters for Parse, one function per layer type."""
