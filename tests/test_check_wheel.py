"""tools/check_wheel.py on small wheels made here: it passes a conforming one and names each
violation (a symbol version above the tag, an unbundled library, a bundled library or compiled-in
code without its licence, a bundled libcurl, an Arrow SONAME outside the wheel's pyarrow range).
Also pins include/pomona/condition_wait.h: condition_variable::wait without it needs
GLIBCXX_3.4.30, above manylinux_2_34."""
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from check_wheel import check, compiled_in  # noqa: E402

THIRD_PARTY = "pomona-0.1.0.dist-info/licenses/third_party/"
# pyproject.toml's ranges, as a built wheel's METADATA writes them.
METADATA = """Metadata-Version: 2.4
Name: pomona
Requires-Dist: pyarrow<27,>=26.0.0; python_version >= "3.11"
Requires-Dist: pyarrow<26,>=25.0.0; python_version < "3.11"
Requires-Dist: numpy>=1.26
"""

WAITS = """
#include <condition_variable>
#include <mutex>
%s
void wait_once(std::condition_variable& changed, std::mutex& mutex, bool& ready) {
  std::unique_lock lock(mutex);
  changed.wait(lock, [&] { return ready; });
}
"""


def shared_library(tmp_path, name, source, *libraries) -> bytes:
    (tmp_path / f"{name}.cc").write_text(source)
    subprocess.run(["g++", "-std=c++20", "-O1", "-shared", "-fPIC", f"-I{ROOT}/include", "-o",
                    str(tmp_path / f"{name}.so"), str(tmp_path / f"{name}.cc"), *libraries], check=True)
    return (tmp_path / f"{name}.so").read_bytes()


def compiled_in_licences(leave_out=()) -> dict:
    """The licence texts and listing of third_party/COMPILED_IN's components, as finish_wheel.py
    writes them, but for leave_out."""
    kept = [name for name in compiled_in() if name not in leave_out]
    listing = "".join(f"{name}\tdebian:x\t1\tthird_party/{i}.licence\n" for i, name in enumerate(kept))
    return {THIRD_PARTY + "COMPILED_IN": listing, **{f"{THIRD_PARTY}{i}.licence": "MIT" for i in range(len(kept))}}


def wheel(tmp_path, members: dict, name="pomona-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl") -> pathlib.Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pomona-0.1.0.dist-info/licenses/LICENSE", "Apache License 2.0")
        for member, data in {"pomona-0.1.0.dist-info/METADATA": METADATA, **compiled_in_licences(), **members}.items():
            archive.writestr(member, data)
    return path


def arrow_stub(tmp_path, major: int) -> str:
    """A library with the SONAME of Arrow major's libarrow, to link against."""
    soname = f"libarrow.so.{major}00"
    (tmp_path / "arrow.cc").write_text("int arrow_stub() { return 0; }")
    subprocess.run(["g++", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(tmp_path / soname),
                    str(tmp_path / "arrow.cc")], check=True)
    return str(tmp_path / soname)


def test_condition_variable_wait_needs_glibcxx_3_4_30_unless_bound_to_the_old_version(tmp_path):
    unbound = shared_library(tmp_path, "unbound", WAITS % "")
    problems = check(wheel(tmp_path, {"pomona/_pomona.so": unbound}), sizes=False)
    assert problems == ["pomona/_pomona.so needs GLIBCXX_3.4.30 from libstdc++.so.6: above manylinux_2_34"]
    bound = shared_library(tmp_path, "bound", WAITS % '#include "pomona/condition_wait.h"')
    assert check(wheel(tmp_path, {"pomona/_pomona.so": bound}), sizes=False) == []


def test_libraries_must_be_bundled_arrows_or_manylinux_system_ones(tmp_path):
    elf = shared_library(tmp_path, "needs", "int f() { return 1; }", "-L" + str(tmp_path), "-Wl,--no-as-needed",
                         "-ldeflate", "-lz")
    problems = check(wheel(tmp_path, {"pomona/_pomona.so": elf}), sizes=False)
    assert problems == ["pomona/_pomona.so needs libdeflate.so.0: neither bundled, nor Arrow's, nor a manylinux "
                        "system library"]  # libz.so.1 is a manylinux system library


def test_a_bundled_library_needs_its_licence_text(tmp_path):
    library = shared_library(tmp_path, "dep", "int g() { return 2; }")
    bundled = "pomona.libs/libdep-0123abcd.so.1"
    listing = f"{bundled}\tlibdep1\t1.0-1\tthird_party/libdep1.copyright\n"
    without = wheel(tmp_path, {bundled: library, "pomona-0.1.0.dist-info/licenses/third_party/BUNDLED": listing})
    assert check(without, sizes=False) == [
        f"{bundled} is bundled without a licence text in pomona-0.1.0.dist-info/licenses/third_party/"]
    with_text = wheel(tmp_path, {bundled: library, "pomona-0.1.0.dist-info/licenses/third_party/BUNDLED": listing,
                                 "pomona-0.1.0.dist-info/licenses/third_party/libdep1.copyright": "MIT"})
    assert check(with_text, sizes=False) == []


def test_libcurl_is_never_bundled(tmp_path):
    library = shared_library(tmp_path, "curl", "int curl_easy_init() { return 0; }")
    bundled = "pomona.libs/libcurl-0123abcd.so.4.8.0"
    third_party = "pomona-0.1.0.dist-info/licenses/third_party/"
    licensed = {third_party + "BUNDLED": f"{bundled}\tlibcurl4\t7.88.1-10\tthird_party/libcurl4.copyright\n",
                third_party + "libcurl4.copyright": "curl"}
    assert check(wheel(tmp_path, {bundled: library, **licensed}), sizes=False) == [
        f"{bundled}: libcurl is bundled; the weights download loads it when it starts and the wheels' HDF5 "
        "(scripts/build_hdf5.sh) does not need it"]


def test_a_wheel_without_a_manylinux_tag_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no manylinux_X_Y_x86_64 tag"):
        check(wheel(tmp_path, {}, name="pomona-0.1.0-cp311-cp311-linux_x86_64.whl"), sizes=False)


def test_compiled_in_code_needs_its_licence_text(tmp_path):
    assert {"cpp-httplib", "hnswlib", "CLI11", "Eigen", "nanobind", "robin-map"} <= set(compiled_in())
    without = wheel(tmp_path, compiled_in_licences(leave_out=["hnswlib"]))
    assert check(without, sizes=False) == [f"hnswlib is compiled in without a licence text in {THIRD_PARTY}"]
    empty = wheel(tmp_path, {**compiled_in_licences(), f"{THIRD_PARTY}0.licence": " \n"})
    assert check(empty, sizes=False) == [f"{compiled_in()[0]} is compiled in without a licence text in {THIRD_PARTY}"]


# Debian packages whose headers the command's code includes without a text in third_party/
# COMPILED_IN: the C/C++ toolchain and C library (left out, as in every wheel), and the -dev
# packages of the libraries the wheels bundle, whose texts come with them (BUNDLED; make build
# links Debian's HDF5, the wheels one built from its source package).
TOOLCHAIN = {"libc6-dev", "libgcc-12-dev", "libstdc++-12-dev", "linux-libc-dev"}
BUNDLED_DEV = {"libdeflate-dev", "libdnnl-dev", "libjpeg62-turbo-dev", "liblapacke-dev", "libopenblas-pthread-dev",
               "libssl-dev", "libhdf5-dev"}


def test_every_debian_header_the_command_compiles_is_toolchain_bundled_or_listed_in_compiled_in(build_dir):
    """The headers that ninja recorded for the objects of the command and its libraries (pomona,
    pomona_*), by the Debian package that installed them: a new header-only dependency fails here
    until third_party/COMPILED_IN lists its licence, and each debian: line there is really used."""
    deps = subprocess.run(["ninja", "-C", str(build_dir), "-t", "deps"], capture_output=True, text=True,
                          check=True).stdout
    headers, target = set(), None
    for line in deps.splitlines():
        if not line.startswith(" "):
            target = re.search(r"CMakeFiles/([^/]+)\.dir/", line)
        elif target and re.fullmatch(r"pomona(_\w+)?", target[1]) and line.strip().startswith("/usr/"):
            headers.add(os.path.realpath(line.strip()))
    owner = {}  # dpkg -S, but in one pass over dpkg's file lists
    for listing in pathlib.Path("/var/lib/dpkg/info").glob("*.list"):
        owner.update((path, listing.stem.split(":")[0]) for path in listing.read_text().splitlines() if path in headers)
    assert headers - set(owner) == set(), "headers of no Debian package"
    packages = set(owner.values())
    lines = (ROOT / "third_party" / "COMPILED_IN").read_text().splitlines()
    listed = {re.match(r"[^\t]+\tdebian:([^\t]+)", line)[1] for line in lines if "\tdebian:" in line}
    assert packages - TOOLCHAIN - BUNDLED_DEV - listed == set()
    assert listed <= packages


def test_each_wheel_needs_the_arrow_soname_of_the_pyarrow_range_it_declares_for_its_python(tmp_path):
    cp310 = "pomona-0.1.0-cp310-cp310-manylinux_2_34_x86_64.whl"
    found = "-Wl,-rpath,$ORIGIN/../pyarrow"
    arrow_25 = shared_library(tmp_path, "a25", "int f() { return 1; }", "-Wl,--no-as-needed", arrow_stub(tmp_path, 25), found)
    arrow_26 = shared_library(tmp_path, "a26", "int f() { return 1; }", "-Wl,--no-as-needed", arrow_stub(tmp_path, 26), found)
    assert check(wheel(tmp_path, {"pomona/_pomona.so": arrow_25}, name=cp310), sizes=False) == []
    assert check(wheel(tmp_path, {"pomona/_pomona.so": arrow_26}), sizes=False) == []
    assert check(wheel(tmp_path, {"pomona/_pomona.so": arrow_26}, name=cp310), sizes=False) == [
        "pomona/_pomona.so needs libarrow.so.2600, but the wheel's pyarrow<26,>=25.0.0 for Python 3.10 has "
        "SONAME libarrow.so.2500"]
    assert check(wheel(tmp_path, {"pomona/_pomona.so": arrow_25}), sizes=False) == [
        "pomona/_pomona.so needs libarrow.so.2500, but the wheel's pyarrow<27,>=26.0.0 for Python 3.11 has "
        "SONAME libarrow.so.2600"]
    # A range over two majors would let pip pair the wheel with an Arrow ABI it was not built for.
    wide = METADATA.replace("pyarrow<26,>=25.0.0", "pyarrow<27,>=25.0.0")
    assert check(wheel(tmp_path, {"pomona/_pomona.so": arrow_25, "pomona-0.1.0.dist-info/METADATA": wide}, name=cp310),
                 sizes=False) == [
        "pomona/_pomona.so needs libarrow.so.2500, but pomona-0.1.0-cp310-cp310-manylinux_2_34_x86_64.whl: "
        "pyarrow<27,>=25.0.0 for Python 3.10 is not >=M.x,<M+1 (one Arrow ABI)"]


def test_a_file_that_needs_arrow_must_find_the_pyarrow_package_beside_it(tmp_path):
    arrow = ["-Wl,--no-as-needed", arrow_stub(tmp_path, 26)]
    lost = shared_library(tmp_path, "lost", "int f() { return 1; }", *arrow)
    assert check(wheel(tmp_path, {"pomona/bin/pomona": lost}), sizes=False) == [
        "pomona/bin/pomona needs Arrow but has no RPATH entry $ORIGIN/../../pyarrow"]
    found = shared_library(tmp_path, "found", "int f() { return 1; }", *arrow, "-Wl,-rpath,$ORIGIN/../../pyarrow")
    assert check(wheel(tmp_path, {"pomona/bin/pomona": found}), sizes=False) == []
