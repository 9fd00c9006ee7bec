"""Helpers shared by the end-to-end tests: running pomona, generating weights and images."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_pomona(pomona_bin, *args, check=True):
    """Runs the pomona command; returns the CompletedProcess (text output)."""
    result = subprocess.run([str(pomona_bin), *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"pomona {args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def make_weights(path: pathlib.Path, alpha: float, size: int) -> pathlib.Path:
    """Seeded MobileNetV2 weights in Keras' legacy H5 layout (cached across tests)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "tools/make_test_weights.py"), "--alpha", str(alpha),
                        "--size", str(size), str(path)], check=True)
    return path


def make_images(outdir: pathlib.Path, per_class: int, classes: int, width=100, height=100, seed=360):
    subprocess.run([sys.executable, str(ROOT / "tools/make_demo_images.py"), str(outdir),
                    "--per-class", str(per_class), "--classes", str(classes), "--width", str(width),
                    "--height", str(height), "--seed", str(seed)], check=True)
    return outdir
