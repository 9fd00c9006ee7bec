"""Adds to a wheel that auditwheel repaired the licence texts of the libraries it bundled
(auditwheel does not copy them), into an output folder: each library in pomona.libs/ gets the
copyright file of the Debian package it came from (or of the Debian source package it was built
from, scripts/build_hdf5.sh), in <dist-info>/licenses/third_party/, listed in
third_party/BUNDLED (one line a library: bundled file, Debian package, version, licence file).
tools/check_wheel.py fails a wheel where one is missing.

usage: python scripts/finish_wheel.py RAW.whl REPAIRED.whl OUT_DIR  (RAW: the wheel before auditwheel)
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from check_wheel import read_elf  # noqa: E402  one ELF reader


def loaded_libraries(raw_wheel: str) -> dict[str, str]:
    """{file name: path} of every library the dynamic linker of this machine loads for the ELF
    files of the unrepaired wheel: the files auditwheel copied."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(raw_wheel) as archive:
            archive.extractall(tmp)
        for path in Path(tmp).rglob("*"):
            if path.is_file() and read_elf(path):
                listing = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
                for match in re.finditer(r"=> (/\S+)", listing):
                    real = os.path.realpath(match[1])
                    found[os.path.basename(real)] = real
    return found


def debian_package(path: str) -> tuple[str, str, str]:
    """(package, version, copyright file) of the Debian package that installed path (either side
    of usrmerge), or of the Debian source package that scripts/build_hdf5.sh built it from: its
    prefix holds share/doc/<package>/source (package and version) beside the copyright file."""
    real = os.path.realpath(path)
    candidates = {real, path}
    for p in list(candidates):
        candidates.add(p[4:] if p.startswith("/usr/lib/") else "/usr" + p if p.startswith("/lib/") else p)
    for candidate in sorted(candidates):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            package = found.stdout.split(":")[0]
            version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                                     capture_output=True, text=True, check=True).stdout
            return package, version, f"/usr/share/doc/{package}/copyright"
    for source in Path(real).parent.parent.glob("share/doc/*/source"):
        package, version = source.read_text().split()
        return package, version, str(source.parent / "copyright")
    raise SystemExit(f"finish_wheel: no Debian package owns {path}: its licence is unknown")


def main(raw_wheel: str, wheel: str, out_dir: str) -> None:
    loaded = loaded_libraries(raw_wheel)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "wheel", "unpack", "-d", tmp, wheel], check=True,
                       stdout=subprocess.DEVNULL)
        (root,) = Path(tmp).iterdir()
        (dist_info,) = root.glob("*.dist-info")
        third_party = dist_info / "licenses" / "third_party"
        third_party.mkdir(parents=True, exist_ok=True)
        lines = []
        for lib in sorted((root / "pomona.libs").glob("*.so*")):
            # auditwheel names the copy of libfoo.so.1.2 libfoo-<8 hex digits>.so.1.2
            original = re.sub(r"-[0-9a-f]{8}\.", ".", lib.name, count=1)
            if original not in loaded:
                raise SystemExit(f"finish_wheel: {lib.name}: no {original} among the libraries of {raw_wheel}")
            package, version, copyright_file = debian_package(loaded[original])
            licence = third_party / f"{package}.copyright"
            shutil.copyfile(copyright_file, licence)
            lines.append(f"pomona.libs/{lib.name}\t{package}\t{version}\tthird_party/{licence.name}\n")
        (third_party / "BUNDLED").write_text("".join(lines))
        subprocess.run([sys.executable, "-m", "wheel", "pack", "-d", out_dir, str(root)], check=True,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main(*sys.argv[1:])
