"""Run in a runner environment by tests/parity/test_retrainable_code.py:

    <pytorch env python> retrain_step.py params MODEL.pt2
        prints the source model's parameter names (the exported program's state_dict), as JSON;
    <env python> retrain_step.py pytorch|tensorflow CODE_DIR NAME INPUTS_JSON
        loads the generated code and its weights, trains one step (SGD on the mean squared error of
        the first output against a seeded target) at the inputs' batch and prints JSON: the loss
        before and after the step, the generated model's trainable weight names.

INPUTS_JSON: [{"name", "shape", "dtype", "range"}] with the batch in the shape.
"""

import importlib.util
import json
import os
import sys

import numpy as np

LR = 0.01


def _inputs(specs):
    rng = np.random.default_rng(0)
    out = []
    for spec in specs:
        if spec["dtype"] == "int64":
            lo, hi = spec["range"]
            out.append(rng.integers(lo, hi + 1, size=spec["shape"]).astype(np.int64))
        else:
            out.append(rng.standard_normal(spec["shape"]).astype(np.float32))
    return out


def _module(code_dir, name):
    sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location(name, os.path.join(code_dir, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def params(pt2):
    import torch

    ep = torch.export.load(pt2)
    return {"params": sorted(ep.state_dict)}


def pytorch_step(code_dir, name, specs):
    import torch

    mod = _module(code_dir, name)
    cls = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)][0]
    model = cls()
    model.load_state_dict(torch.load(os.path.join(code_dir, name + ".pth"), weights_only=True))
    model.train()
    xs = [torch.from_numpy(a) for a in _inputs(specs)]

    def first():
        out = model(*xs)
        return out[0] if isinstance(out, (tuple, list)) else out

    y = first()
    target = torch.from_numpy(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss = torch.nn.functional.mse_loss(y, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = torch.nn.functional.mse_loss(first(), target)
    return {
        "batch": int(y.shape[0]),
        "before": float(loss),
        "after": float(after),
        "trainable": sorted(n for n, p in model.named_parameters() if p.requires_grad),
    }


def tensorflow_step(code_dir, name, specs):
    import keras
    import tensorflow as tf

    mod = _module(code_dir, name)
    model = mod.load(os.path.join(code_dir, name + ".npz"))
    xs = [tf.constant(a) for a in _inputs(specs)]

    def first():
        out = model(xs if len(xs) > 1 else xs[0], training=True)
        return out[0] if isinstance(out, (tuple, list)) else out

    y = first()
    target = tf.constant(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32))
    opt = keras.optimizers.SGD(learning_rate=LR)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(first() - target))
    grads = tape.gradient(loss, model.trainable_weights)
    opt.apply_gradients(zip(grads, model.trainable_weights))
    after = tf.reduce_mean(tf.square(first() - target))
    return {
        "batch": int(y.shape[0]),
        "before": float(loss),
        "after": float(after),
        "trainable": sorted(w.path for w in model.trainable_weights),
    }


def main(argv):
    if argv[0] == "params":
        result = params(argv[1])
    else:
        code_dir, name, specs = argv[1], argv[2], json.loads(argv[3])
        step = pytorch_step if argv[0] == "pytorch" else tensorflow_step
        result = step(code_dir, name, specs)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
