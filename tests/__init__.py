"""The test suite; ``tests.helpers`` is shared with ``bench/``."""
