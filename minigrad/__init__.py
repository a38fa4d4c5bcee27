"""minigrad: a small reverse-mode autodiff engine over NumPy (and CuPy) arrays."""

__version__ = "0.1.0"
