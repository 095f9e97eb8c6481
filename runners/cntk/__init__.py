"""CNTK 2.7 runner (CPython 3.6): .model (v2) and legacy .dnn in, .model out, cntk.layers source."""
