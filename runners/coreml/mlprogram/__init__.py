"""CoreML ML Program (.mlpackage): IR -> MIL program (coremltools' MIL builder, one converter per
IR op in `emit_ops/`) saved as an .mlpackage, and .mlpackage -> IR (the MIL program read back with
its weights, one converter per MIL op in `parse_ops/`) for Parse and for Infer on Linux.

ML Program tensors have any rank, so the IR's NCHW values are MIL values as they are (no rank-5
blobs as in the NeuralNetwork format). The program is saved without coremltools' optimisation
passes, so what is read back is what was written; IR value names are kept in the model's metadata
(`mmbroker.names`), MIL names being identifiers."""
