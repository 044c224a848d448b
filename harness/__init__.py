"""Test-and-simulation harness for host deployers.

The library works without pytest (build images, start machines, run a Job);
``harness.plugin`` is the thin pytest layer on top.
"""

import sys as _sys

__version__ = "0.1.0"
PROJECT = "deployer-harness"

# pytest rewrites the asserts of every module of an installed plugin's package, as it imports them: for the harness
# that is 0.35 to 0.45 s of every run's start (each run parses all of it again where bytecode is not cached), and
# its asserts are invariants, not tests. Its own test suite (tests/) is rewritten as before.
for _finder in _sys.meta_path:
    _marked = getattr(_finder, "_must_rewrite", None)  # pytest's AssertionRewritingHook (not a public interface)
    if isinstance(_marked, set):  # the package, or `-p harness.plugin` when plugins are not autoloaded
        _marked.difference_update([name for name in _marked if name.split(".")[0] == __name__])
