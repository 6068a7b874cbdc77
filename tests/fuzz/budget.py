"""How much fuzzing a test run does: bounded, so the whole suite stays within minutes.

``FUZZ_EXAMPLES`` scales every fuzz test (e.g. ``FUZZ_EXAMPLES=500 make test`` for a deeper,
slower local run). Examples are derandomized: a run is reproducible, and CI never fails by luck.
"""

import os

from hypothesis import HealthCheck, settings

SCALE = int(os.environ.get("FUZZ_EXAMPLES", "30"))
EXAMPLES_PER_OPERATION = max(5, SCALE // 4)
EXAMPLES_PER_ENDPOINT = SCALE * 2

# Settings for a test that fuzzes one endpoint...
FUZZ = settings(
    max_examples=EXAMPLES_PER_ENDPOINT,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# ... and for one operation (or a form that is one button, with nothing to fill in): fewer examples.
FUZZ_OPERATION = settings(FUZZ, max_examples=EXAMPLES_PER_OPERATION)
