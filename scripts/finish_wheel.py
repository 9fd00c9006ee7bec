"""Adds to a wheel that auditwheel repaired the licence texts of the libraries it bundled
(auditwheel does not copy them), into an output folder: each library in pomona.libs/ gets the
copyright file of the Debian package it came from (or of the Debian source package it was built
from, scripts/build_hdf5.sh), in <dist-info>/licenses/third_party/, listed in
third_party/BUNDLED (one line a library: bundled file, Debian package, version, licence file).
Each component of the repository's third_party/COMPILED_IN (code compiled in from headers or
sources) gets its licence text from where the build took the code, listed in
third_party/COMPILED_IN (one line a component: name, source, version, licence file).
tools/check_wheel.py fails a wheel where one is missing.

usage: python scripts/finish_wheel.py RAW.whl REPAIRED.whl OUT_DIR [ARROW_PYTHON]
  RAW: the wheel before auditwheel; ARROW_PYTHON: the Python whose pyarrow the wheel was compiled
  against (default: this one), where PyPI distributions are looked up first
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from check_wheel import compiled_in_sources, read_elf  # noqa: E402  one ELF reader, one COMPILED_IN reader


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


def installed_package(package: str) -> tuple[str, str]:
    """(version, copyright file) of an installed Debian package."""
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    if version.returncode != 0:
        raise SystemExit(f"finish_wheel: Debian package {package} is not installed: run scripts/bootstrap.sh")
    return version.stdout, f"/usr/share/doc/{package}/copyright"


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
            return (package, *installed_package(package))
    for source in Path(real).parent.parent.glob("share/doc/*/source"):
        package, version = source.read_text().split()
        return package, version, str(source.parent / "copyright")
    raise SystemExit(f"finish_wheel: no Debian package owns {path}: its licence is unknown")


def opening_comment(path: Path) -> str:
    """The text of the /* ... */ comment a source file opens with (its licence), without the stars."""
    match = re.match(r"\s*/\*(.*?)\*/", path.read_text(), re.S)
    if not match:
        raise SystemExit(f"finish_wheel: {path} does not open with a comment (its licence)")
    return "\n".join(re.sub(r"^ ?\* ?", "", line) for line in match[1].splitlines()).strip() + "\n"


def compiled_in_licence(source: str, site: list[str]) -> tuple[str, str]:
    """(version, licence text) of a licence source of third_party/COMPILED_IN; PyPI distributions
    are looked up in the folders site first, then in this Python's."""
    kind, _, what = source.partition(":")
    if kind == "debian":
        version, copyright_file = installed_package(what)
        return version, Path(copyright_file).read_text()
    if kind == "deps":
        folder = ROOT / ".deps" / what
        return (folder / "VERSION").read_text().strip(), (folder / "copyright").read_text()
    if kind == "pypi":
        name, _, file = what.partition(":")
        dist = next(iter(importlib.metadata.distributions(name=name, path=site)), None) or \
            importlib.metadata.distribution(name)
        if file:
            return dist.version, opening_comment(Path(dist.locate_file(file)))
        texts = [Path(dist.locate_file(f)).read_text() for f in dist.files if "/licenses/" in f.as_posix()]
        if not texts:
            raise SystemExit(f"finish_wheel: {name} {dist.version} carries no licence files")
        return dist.version, "\n\n".join(texts)
    raise SystemExit(f"finish_wheel: third_party/COMPILED_IN: unknown licence source {source}")


def main(raw_wheel: str, wheel: str, out_dir: str, arrow_python: str = sys.executable) -> None:
    loaded = loaded_libraries(raw_wheel)
    site = subprocess.run([arrow_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.split()
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
        lines = []
        for name, source in compiled_in_sources().items():
            version, text = compiled_in_licence(source, site)
            licence = third_party / (re.sub(r"[^A-Za-z0-9.+-]+", "-", name) + ".licence")
            licence.write_text(text)
            lines.append(f"{name}\t{source}\t{version}\tthird_party/{licence.name}\n")
        (third_party / "COMPILED_IN").write_text("".join(lines))
        subprocess.run([sys.executable, "-m", "wheel", "pack", "-d", out_dir, str(root)], check=True,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main(*sys.argv[1:])
