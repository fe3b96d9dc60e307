"""An installation as data: files to write and commands to run, so ``--dry-run`` prints exactly what would happen."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Plan:
    files: list[tuple[Path, str]] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"# write {path}\n{content}" for path, content in self.files]
        parts += [f"# run\n{shlex.join(command)}" for command in self.commands]
        return "\n".join(parts)

    def apply(self) -> None:
        for path, content in self.files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        for command in self.commands:
            subprocess.run(command, check=True)
