"""`feeds build` killed with SIGKILL while it writes: the last export stays whole
and the next build succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import NOW, clean, generate, site_files
from feeds.publish.export import MARKER

#: `feeds build` in a child process, killed.
pytestmark = pytest.mark.slow


def build(content: Path, out: Path, cache: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feeds.cli",
            "build",
            "--content",
            str(content),
            "--out",
            str(out),
            "--cache",
            str(cache),
            "--jobs",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_while_writing(process: subprocess.Popen[bytes], folder: Path, parent: Path) -> bool:
    """SIGKILL once the build has started writing its new version; True if it
    was killed before it finished."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        staging = list(parent.glob(".out.tmp-*"))
        if (folder.is_dir() and not (folder / MARKER).exists()) or staging:
            time.sleep(0.05)  # some files written, far from all
            if process.poll() is not None:
                return False
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.wait()
    return False


def test_sigkill_mid_write_leaves_the_export_and_the_next_build_works(tmp_path: Path) -> None:
    content = generate(tmp_path / "content", 300)
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    shadow = tmp_path / ".out.shadow"
    assert build(content, out, cache).wait() == 0
    # A second version, so that the first becomes the shadow the next build updates.
    (content / "site.toml").write_text(
        (content / "site.toml").read_text().replace("Benchmark Wire", "Bench Wire")
    )
    assert build(content, out, cache).wait() == 0
    before = site_files(out)
    # Change every page, so the killed build has thousands of files to write.
    (content / "site.toml").write_text(
        (content / "site.toml").read_text().replace("Bench Wire", "Renamed Wire")
    )
    killed = kill_while_writing(build(content, out, cache), shadow, tmp_path)
    assert killed, "the build finished before it could be killed: nothing was tested"
    assert site_files(out) == before
    assert build(content, out, cache).wait() == 0
    expected = clean(content, tmp_path, NOW)
    assert site_files(out) == expected
    assert os.listdir(tmp_path).count(".out.shadow") == 1
