"""caffe_pb2 without importing pycaffe: the message classes come from the installed wheel's
freshly generated caffe_pb2.py, loaded by path, so parsing and writing models never load the C++
library (whose CHECK failures abort the process)."""

import importlib.util
import os

_cache = []


def caffe_pb2():
    if not _cache:
        spec = importlib.util.find_spec("caffe")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("the caffe package is not installed in this environment")
        path = os.path.join(list(spec.submodule_search_locations)[0], "proto", "caffe_pb2.py")
        module_spec = importlib.util.spec_from_file_location("caffe_pb2", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        _cache.append(module)
    return _cache[0]
