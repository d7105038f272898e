"""A JupyterLab for the browser test: on loopback, a free port, a token, its own folders.

The server sees a copy of the course (notebooks and data) so that opening or saving a
notebook never touches the working tree, and it reads the course's JupyterLab settings
(``jupyter/``) the way ``make lab`` does. It is stopped by its process id.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scalekit import course

SETTINGS = course.ROOT / "jupyter" / "lab" / "settings"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]


@dataclass
class Lab:
    """A running JupyterLab: where it serves, the folder it serves, and its process."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path
    originals: dict[str, str]

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/notebooks/{name}?token={self.token}&reset"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_course(root: Path) -> Path:
    """Copy the notebooks (and the data they read) under ``root``; return the notebooks folder."""
    shutil.copytree(course.NOTEBOOK_DIR, root / "notebooks")
    if (course.ROOT / "data").is_dir():
        shutil.copytree(course.ROOT / "data", root / "data")
    return root / "notebooks"


def start_lab(workdir: Path, timeout: float = 90.0) -> Lab:
    """Start JupyterLab serving a copy of the course under ``workdir``; wait until it answers."""
    root = workdir / "course"
    root.mkdir(parents=True)
    copy_course(root)
    settings = workdir / "app-settings"
    shutil.copytree(SETTINGS, settings)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        "JUPYTER_DATA_DIR": str(workdir / "data"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(workdir / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
        "IPYTHONDIR": str(workdir / "ipython"),
        "MPLCONFIGDIR": str(workdir / "matplotlib"),
        "SCALEKIT_DATA": str(root / "data"),
    }
    jupyter = Path(sys.executable).with_name("jupyter")
    notebooks = sorted(str(p) for p in (root / "notebooks").glob("*.ipynb"))
    subprocess.run([str(jupyter), "trust", *notebooks], env=env, check=True, capture_output=True)
    port, token = free_port(), secrets.token_hex(16)
    log = workdir / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(jupyter),
                "lab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--port-retries=0",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={token}",
                f"--LabApp.app_settings_dir={settings}",
                "--allow-root",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    originals = {path.name: path.read_text() for path in (root / "notebooks").glob("*.ipynb")}
    lab = Lab(f"http://127.0.0.1:{port}", token, root, process, log, originals)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2) as reply:
                json.load(reply)
                return lab
        except OSError:
            time.sleep(0.3)
    lab.stop()
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()}")
