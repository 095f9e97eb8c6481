"""Framework runners: one package per framework, each run in its own environment."""
