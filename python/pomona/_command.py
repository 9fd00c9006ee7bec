"""The `pomona` command of an installed package: replaces this process with the executable that
the package carries (pomona/bin/pomona, the same program as a source build's build/pomona), so
options, output, exit codes and signals are exactly that program's."""
from __future__ import annotations

import os
import sys


def main() -> None:
    executable = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "pomona")
    os.execv(executable, ["pomona", *sys.argv[1:]])
