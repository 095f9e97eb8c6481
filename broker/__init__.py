"""mmbroker: convert trained models between deep learning frameworks, each in its own environment."""

__version__ = "0.1.0"
