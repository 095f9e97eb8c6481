"""IR op -> Keras 3 layer converters, one module per op family (discovered automatically)."""
