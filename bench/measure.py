"""What every benchmark script needs: run a command and measure that process alone."""
import os
import subprocess
import sys
import time


def run_measured(cmd, env=None):
    """Runs cmd; returns (output, wall seconds, peak RSS in MiB) of that process alone (wait4, so
    neither this Python process nor earlier children count). Exits with the output on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{output}")
    return output, seconds, usage.ru_maxrss / 1024
