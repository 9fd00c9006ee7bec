"""Makes the bench venv (.venv-bench) from bench/requirements.txt, or says it is up to date.

    python3 bench/bench_venv.py

The base packages must install (the notebook's stack needs them); each "# runtime:" group is
installed on its own, and one that fails is written with pip's reason to
.venv-bench/install-failures.json, which bench/peers.py prints in place of that runtime's row.
The venv is remade when bench/requirements.txt changes (delete .venv-bench to retry a failure).
"""
import json
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"
STAMP = VENV / "requirements.txt"


def groups(text):
    """[(name, [requirement lines])]: ("base", ...) first, then one per "# runtime: NAME"."""
    found, name = [("base", [])], None
    for line in text.splitlines():
        if line.startswith("# runtime:"):
            name = line.split(":", 1)[1].strip()
            found.append((name, []))
        elif line.strip() and not line.startswith("#"):
            found[-1][1].append(line.strip())
    return found


def pip_install(requirements):
    """None when pip installed them, else pip's last lines of output (its reason)."""
    proc = subprocess.run([VENV / "bin" / "python", "-m", "pip", "install", "--quiet", *requirements],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    return " ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])


def main():
    wanted = REQUIREMENTS.read_text()
    if STAMP.exists() and STAMP.read_text() == wanted:
        print(f"bench venv {VENV.relative_to(ROOT)} is up to date")
        return
    shutil.rmtree(VENV, ignore_errors=True)
    print(f"making the bench venv {VENV.relative_to(ROOT)} from {REQUIREMENTS.relative_to(ROOT)} "
          "(TensorFlow, Spark, ONNX Runtime, OpenVINO, PyTorch: several GB, once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    (VENV / ".gitignore").write_text("*\n")
    failures = {}
    (_, base), *runtimes = groups(wanted)
    for name, requirements in [("base", base)] + runtimes:
        print(f"  pip install {' '.join(requirements)}", flush=True)
        # The base pins come along so that no runtime moves a package the others rely on.
        reason = pip_install(requirements if name == "base" else base + requirements)
        if reason and name == "base":
            sys.exit(f"bench_venv: the base packages did not install: {reason}")
        if reason:
            print(f"  {name} not installed, its benchmarks are skipped: {reason}")
            failures[name] = f"pip install {' '.join(requirements)} failed: {reason}"
    (VENV / "install-failures.json").write_text(json.dumps(failures, indent=1))
    STAMP.write_text(wanted)


if __name__ == "__main__":
    main()
