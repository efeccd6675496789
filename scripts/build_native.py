"""Compile ``trading/amm/_native.c`` into an extension module beside it.

``make setup`` runs this; it does nothing when the module is newer than its
source. It needs a C compiler and Python's headers (Debian: ``gcc`` and the
``-dev`` package of the Python in use). The module is written to a temporary
name and renamed, so a process importing it never sees half a file.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "trading" / "amm" / "_native.c"
FLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]


def target() -> Path:
    return SOURCE.with_name("_native" + sysconfig.get_config_var("EXT_SUFFIX"))


def main() -> int:
    built = target()
    if built.exists() and built.stat().st_mtime >= SOURCE.stat().st_mtime:
        return 0
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        print(
            f"Cannot build the native quote: {include}/Python.h is missing. Install the "
            "headers of this Python (Debian: the python3-dev package), then run make again.",
            file=sys.stderr,
        )
        return 1
    handle, partial = tempfile.mkstemp(dir=built.parent, prefix=".native-", suffix=".so")
    os.close(handle)
    command = [*compiler, *FLAGS, "-shared", "-fPIC", f"-I{include}", "-o", partial]
    try:
        subprocess.run([*command, str(SOURCE)], check=True)
        os.chmod(partial, 0o755)
        os.replace(partial, built)
    except (OSError, subprocess.CalledProcessError) as error:
        print(
            f"Cannot build the native quote ({error}). It needs a C compiler "
            "(Debian: gcc) and Python's headers; install them, then run make again.",
            file=sys.stderr,
        )
        return 1
    finally:
        Path(partial).unlink(missing_ok=True)
    print(f"Built {built.relative_to(SOURCE.parents[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
