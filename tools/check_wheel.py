"""Checks Pomona wheels against their manylinux platform tag, and prints what each carries.

For every ELF file in a wheel: its highest GLIBC_ and GLIBCXX_ symbol versions, and its DT_NEEDED
libraries. A wheel fails when
  - a file needs a symbol version of a system library (glibc, libstdc++, libgcc_s, ...) that the
    policy of its tag (auditwheel's manylinux-policy.json) does not allow;
  - a DT_NEEDED library is neither bundled (pomona.libs/), nor Arrow's (from the pyarrow
    dependency), nor on the policy's list of system libraries;
  - a file that needs Arrow has no RPATH entry to the pyarrow package installed beside it, or
    needs another Arrow SONAME (libarrow.so.2600: Arrow 26) than the pyarrow range that the wheel
    declares for its Python (Requires-Dist with a python_version marker, pyproject.toml), which
    must lie within one major version (Arrow's ABI);
  - a bundled library has no licence text (<dist-info>/licenses/third_party/, listed in BUNDLED,
    see scripts/finish_wheel.py), or code compiled in from headers or sources (third_party/
    COMPILED_IN) has none (listed in the wheel's third_party/COMPILED_IN);
  - libcurl is bundled: the weights download loads the machine's libcurl when it starts
    (src/model/http_download.cc) and the wheels' HDF5 has no driver that needs it
    (scripts/build_hdf5.sh), so a bundled libcurl (with its ~27 libraries) is a regression.
With --sizes it also lists the wheel's size and each bundled library's size.

usage: python tools/check_wheel.py [--sizes] WHEEL...   (exit 1 on any violation)
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Union

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent

# Arrow C++ of the pyarrow wheel: never bundled, found in site-packages/pyarrow at run time.
# The SONAME's number is Arrow's major version times 100.
ARROW_LIBRARY = re.compile(r"^lib(arrow[a-z0-9_]*|parquet)\.so\.(\d+)$")
# glibc's dynamic loader: part of every manylinux system, never on the policy's list.
LOADER = "ld-linux-x86-64.so.2"
# Loaded at run time when present, never bundled (see above).
NOT_BUNDLED = re.compile(r"^libcurl(-gnutls)?[-.]")


@dataclass
class Elf:
    needed: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    # versions[file] = symbol versions this ELF needs from that library, e.g. {"GLIBC_2.34"}
    versions: dict[str, set[str]] = field(default_factory=dict)


def read_elf(source: Union[Path, bytes]) -> Elf | None:
    """The dynamic section and version needs of an ELF file, or None when source is not ELF."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    if not data.startswith(b"\x7fELF"):
        return None
    elf = ELFFile(io.BytesIO(data))
    result = Elf()
    dynamic = elf.get_section_by_name(".dynamic")
    for tag in dynamic.iter_tags() if dynamic else []:
        if tag.entry.d_tag == "DT_NEEDED":
            result.needed.append(tag.needed)
        elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
            result.rpath += [p for p in (tag.rpath if tag.entry.d_tag == "DT_RPATH" else tag.runpath).split(":") if p]
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                result.versions.setdefault(verneed.name, set()).update(aux.name for aux in auxiliaries)
    return result


def version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[._]", version))


def highest(versions: set[str], prefix: str) -> str:
    mine = [v[len(prefix) + 1:] for v in versions if v.startswith(prefix + "_")]
    return max(mine, key=version_key) if mine else "-"


def compiled_in_sources() -> dict[str, str]:
    """{component: licence source} of third_party/COMPILED_IN: code compiled into the module and
    the command from headers or sources, whose licence texts every wheel carries."""
    lines = (ROOT / "third_party" / "COMPILED_IN").read_text().splitlines()
    return dict(line.split("\t")[:2] for line in lines if line and not line.startswith("#"))


def compiled_in() -> list[str]:
    """The components of third_party/COMPILED_IN."""
    return list(compiled_in_sources())


def arrow_major(metadata: str, wheel_name: str) -> tuple[int | None, str]:
    """(Arrow major version, description) of the pyarrow range the wheel's METADATA declares for
    the Python of its tag (cpXY), or (None, the problem)."""
    tag = re.search(r"-cp(\d)(\d+)-", wheel_name)
    if not tag:
        return None, f"{wheel_name} has no cpXY tag"
    python = f"{tag[1]}.{tag[2]}"
    ranges = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.partition(":")[2].strip())
            if requirement.name == "pyarrow" and (requirement.marker is None or requirement.marker.evaluate(
                    {"python_version": python, "python_full_version": python + ".0", "extra": ""})):
                ranges.append(requirement.specifier)
    if len(ranges) != 1:
        return None, f"{wheel_name} declares {len(ranges)} pyarrow requirements for Python {python}, not one"
    (spec,) = ranges
    lower = [s.version for s in spec if s.operator == ">="]
    upper = [s.version for s in spec if s.operator == "<"]
    major = int(lower[0].split(".")[0]) if len(lower) == 1 else None
    if major is None or upper != [str(major + 1)]:
        return None, f"{wheel_name}: pyarrow{spec} for Python {python} is not >=M.x,<M+1 (one Arrow ABI)"
    return major, f"pyarrow{spec} for Python {python}"


def policy_of(wheel: Path) -> dict:
    tag = re.search(r"-(manylinux_\d+_\d+)_x86_64\.whl$", wheel.name)
    if not tag:
        raise SystemExit(f"check_wheel: {wheel.name} has no manylinux_X_Y_x86_64 tag")
    policies = json.loads(resources.files("auditwheel.policy").joinpath("manylinux-policy.json").read_text())
    return next(p for p in policies if p["name"] == tag[1])


def check(wheel: Path, sizes: bool) -> list[str]:
    policy = policy_of(wheel)
    allowed = policy["symbol_versions"]["x86_64"]
    system = {*policy["lib_whitelist"], LOADER}
    problems = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        bundled = {Path(n).name: n for n in names if n.startswith("pomona.libs/")}
        (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        metadata = archive.read(f"{dist_info}/METADATA").decode() if f"{dist_info}/METADATA" in names else ""
        major, arrow_range = arrow_major(metadata, wheel.name)
        print(f"{wheel.name}  ({policy['name']}; {arrow_range})")
        print(f"  {'file':<50} {'GLIBC':>6} {'GLIBCXX':>8}  needed")
        for name in names:
            elf = read_elf(archive.read(name))
            if elf is None:
                continue
            every = set().union(*elf.versions.values()) if elf.versions else set()
            print(f"  {name:<50} {highest(every, 'GLIBC'):>6} {highest(every, 'GLIBCXX'):>8}  {' '.join(elf.needed)}")
            to_pyarrow = "$ORIGIN/" + os.path.relpath("pyarrow", os.path.dirname(name))
            if any(ARROW_LIBRARY.match(n) for n in elf.needed) and to_pyarrow not in elf.rpath:
                problems.append(f"{name} needs Arrow but has no RPATH entry {to_pyarrow}")
            for needed in elf.needed:
                arrow = ARROW_LIBRARY.match(needed)
                if arrow and major is None:
                    problems.append(f"{name} needs {needed}, but {arrow_range}")
                elif arrow and int(arrow[2]) != major * 100:
                    problems.append(f"{name} needs {needed}, but the wheel's {arrow_range} has "
                                    f"SONAME libarrow.so.{major * 100}")
                if needed not in bundled and needed not in system and not ARROW_LIBRARY.match(needed):
                    problems.append(f"{name} needs {needed}: neither bundled, nor Arrow's, nor a manylinux system library")
            for library, versions in elf.versions.items():
                if library not in system:
                    continue
                for version in sorted(versions):
                    prefix, _, number = version.partition("_")
                    if prefix in allowed and number not in allowed[prefix]:
                        problems.append(f"{name} needs {version} from {library}: above {policy['name']}")
        licences = f"{dist_info}/licenses/third_party/"

        def listing(file: str) -> dict:
            """{first column: (the others)} of a tab-separated listing of finish_wheel.py."""
            if licences + file not in names:
                return {}
            lines = archive.read(licences + file).decode().splitlines()
            return {line.split("\t")[0]: tuple(line.split("\t")[1:]) for line in lines}

        def has_text(licence: str | None) -> bool:
            member = f"{dist_info}/licenses/{licence}"
            return licence is not None and member in names and bool(archive.read(member).strip())

        listed = listing("BUNDLED")
        carried = listing("COMPILED_IN")
        for component in compiled_in():
            if not has_text(carried.get(component, (None, None))[-1]):
                problems.append(f"{component} is compiled in without a licence text in {licences}")
        for path in bundled.values():
            if NOT_BUNDLED.match(Path(path).name):
                problems.append(f"{path}: libcurl is bundled; the weights download loads it when it starts "
                                f"and the wheels' HDF5 (scripts/build_hdf5.sh) does not need it")
            if not has_text(listed.get(path, (None, None, None))[2]):
                problems.append(f"{path} is bundled without a licence text in {licences}")
        if f"{dist_info}/licenses/LICENSE" not in names:
            problems.append(f"{wheel.name} lacks Pomona's own LICENSE")
        if sizes:
            total = sum(archive.getinfo(p).file_size for p in bundled.values())
            print(f"  wheel {wheel.stat().st_size / 1e6:.1f} MB; {len(bundled)} bundled libraries, "
                  f"{total / 1e6:.1f} MB unpacked:")
            for path in sorted(bundled.values(), key=lambda p: -archive.getinfo(p).file_size):
                print(f"    {archive.getinfo(path).file_size / 1e6:7.2f} MB  {path}  ({listed.get(path, ('?',))[0]})")
            print(f"  licence texts of {len(carried)} compiled-in components: "
                  + ", ".join(f"{name} {fields[1]}" for name, fields in carried.items()))
    return problems


def main(argv: list[str]) -> int:
    sizes = "--sizes" in argv
    wheels = [Path(a) for a in argv if a != "--sizes"]
    if not wheels:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    problems = [p for wheel in wheels for p in check(wheel, sizes)]
    for problem in problems:
        print(f"check_wheel: {problem}", file=sys.stderr)
    print(f"check_wheel: {len(wheels)} wheel(s), {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
