"""Shared test setup: hypothesis profiles, and the ``device`` fixture that runs one test body
on every device (CUDA cases are collected everywhere and skipped, with the reason, where
there is no GPU)."""
import os

import pytest
from hypothesis import HealthCheck, settings

import minigrad
from docs_site import built_docs, built_docs_zh  # noqa: F401 - the docs sites, built once per session

# "dev" for quick local runs, "ci" (the default) for the thorough run .ci/run makes.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _why_no_gpu():
    """None if a GPU is usable, else what is missing (CuPy, or a driver and GPU)."""
    if minigrad.cuda.is_available():
        return None
    try:
        import cupy
    except ImportError:
        return "no GPU: CuPy is not installed (pip install 'minigrad-course[cuda12]' or 'minigrad-course[cuda13]')"
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CuPy's own words say what is missing
        return f"no GPU: CuPy {cupy.__version__} is installed but sees none ({e})"
    return "no GPU: CuPy sees 0 devices"


NO_GPU = _why_no_gpu()
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(NO_GPU is not None, reason=str(NO_GPU)))]


@pytest.fixture(params=DEVICES)
def device(request):
    """'cpu', then 'cuda' where a GPU is usable."""
    return request.param
