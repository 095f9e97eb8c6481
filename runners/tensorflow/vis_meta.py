"""A TensorBoard graph log of a TF1 checkpoint's graph (MMdnn's `mmvismeta`):

    <tensorflow env python> -m runners.tensorflow.vis_meta X.ckpt.meta LOGDIR

reads the MetaGraphDef as data (tf.compat.v1.train.import_meta_graph builds the graph; no variable
is restored) and writes an event file with the graph into LOGDIR; prints its path.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python -m runners.tensorflow.vis_meta X.ckpt.meta LOGDIR\n")
        return 2
    meta, logdir = argv
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        try:
            tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        except Exception as exc:
            sys.stderr.write("%s is not a readable TF1 graph (.meta): %s\n" % (meta, str(exc).splitlines()[0]))
            return 1
    os.makedirs(logdir, exist_ok=True)
    before = set(os.listdir(logdir))
    with graph.as_default():  # the TF1 writer refuses eager mode
        writer = tf.compat.v1.summary.FileWriter(logdir, graph=graph)
        writer.flush()
        writer.close()
    new = sorted(set(os.listdir(logdir)) - before)
    sys.stdout.write(
        "TensorBoard graph log of %d nodes written: %s\n"
        % (len(graph.as_graph_def().node), os.path.join(logdir, new[-1]) if new else logdir)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
