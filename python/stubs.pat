# Patterns for nanobind's stubgen (python/CMakeLists.txt).
# rn.random is the module runnel.random, which _core registers; its stub is
# random.pyi beside _core.pyi.
^runnel\._core\.random$:
    from . import random as random
