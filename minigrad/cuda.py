"""``minigrad.cuda``: is a GPU usable here? (CuPy is imported only when asked.)"""


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return device_count() > 0


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy, a driver or a GPU)."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no CuPy, no driver, no GPU: all mean "no GPU here"
        return 0


def synchronize() -> None:
    """Wait until the current GPU has finished all queued work, as ``torch.cuda.synchronize``.

    GPU calls return before the GPU is done; time GPU code only between two synchronize() calls.
    """
    from .backend import cupy_module

    cupy = cupy_module()
    cupy.cuda.Device().synchronize()
