"""The TensorFlow/Keras runner: Keras 3 and 2 files, SavedModels, TF1 checkpoints, frozen graphs, TFLite."""
