"""Where the contract's generated code comes from.

componentize-py generates two top-level modules for the WIT package
``stagehand:plugin@0.3.0``: ``wit_world`` (the types as dataclasses, the
``Handler`` protocol, the host functions) and ``componentize_py_types``
(``Ok``, ``Err``, ``Some``). Inside a component they are the modules
componentize-py generated while building it, wired to the host. On any other
Python (tests, an editor) they are the copies kept in ``_bindings/``: the
same classes, generated from the same WIT by the same componentize-py, whose
host functions raise ``NotImplementedError`` until
``stagehand_plugin.testing`` replaces them with a fake host.
"""

import os
import sys

#: True when running inside a WebAssembly component (built by componentize-py).
IN_COMPONENT = sys.platform == "wasi"

if not IN_COMPONENT:
    _BINDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bindings")
    if _BINDINGS not in sys.path:
        # First on the path: a project's own `wit_world` (from running
        # `componentize-py bindings` in it) must not shadow the contract's.
        sys.path.insert(0, _BINDINGS)

from componentize_py_types import Err, Ok, Some  # noqa: E402
from wit_world import exports  # noqa: E402
from wit_world.imports import host, types  # noqa: E402

__all__ = ["IN_COMPONENT", "Err", "Ok", "Some", "exports", "host", "types"]
