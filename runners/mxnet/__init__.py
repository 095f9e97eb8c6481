"""MXNet 1.9.1 runner: -symbol.json + .params in and out, Gluon HybridBlock source, MXNet inference."""
