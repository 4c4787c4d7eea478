"""capcast's front door: the command line and the settings every edge reads.

Importing capcast checks that the generic top-level packages it ships (``models``,
``features``...) are its own (``capcast.packages``): a clash fails here, in one line,
instead of as a confusing error deep inside a forecast.
"""

import sys
from pathlib import Path

from capcast.packages import PackageClash, foreign_package

__distribution__ = "capcast"

if (_clash := foreign_package(Path(__file__).resolve().parent.parent)) is not None:
    if Path(sys.argv[0]).name == "capcast" or sys.argv[:1] == ["-m"]:  # the command line: one line, no traceback
        print(f"capcast: {_clash}", file=sys.stderr)
        raise SystemExit(1)
    raise PackageClash(_clash)
