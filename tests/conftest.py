import os

from hypothesis import HealthCheck, settings

# "dev" for quick local runs, "ci" (the default) for the thorough run .ci/run makes.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
