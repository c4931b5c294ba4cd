"""The data types every stage shares: a sentence, a validation finding and report,
a corpus read from one file, and its train/validation/test splits.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field


@dataclass
class Sentence:
    """One annotated sentence; ``number`` is its 1-based position in the source file."""

    words: list[str]
    tags: list[str]
    pos: list[str] | None = None
    number: int = 0
    line: int = 0

    def __len__(self) -> int:
        return len(self.words)

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Finding:
    """One validation result. ``severity`` is ``error`` (blocks loading), ``warning`` or ``repaired``."""

    severity: str
    code: str
    message: str
    sentence: int | None = None
    line: int | None = None

    def describe(self) -> str:
        where = []
        if self.sentence is not None:
            where.append(f"sentence {self.sentence}")
        if self.line is not None:
            where.append(f"line {self.line}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message}"


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, severity: str, code: str, message: str, sentence: int | None = None, line: int | None = None) -> None:
        self.findings.append(Finding(severity, code, message, sentence, line))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def repairs(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "repaired"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of findings per (severity, code), for a compact summary."""
        return dict(collections.Counter((f.severity, f.code) for f in self.findings))

    def to_records(self) -> list[dict]:
        return [
            {"severity": f.severity, "code": f.code, "sentence": f.sentence, "line": f.line, "message": f.message}
            for f in self.findings
        ]


@dataclass
class Corpus:
    """Sentences of one source file plus what validation found in it."""

    sentences: list[Sentence]
    report: ValidationReport
    source: str
    sha256: str
    format: str
    encoding: str

    @property
    def tag_names(self) -> list[str]:
        return sorted({t for s in self.sentences for t in s.tags})

    @property
    def has_pos(self) -> bool:
        return bool(self.sentences) and all(s.pos is not None for s in self.sentences)


@dataclass
class DatasetSplits:
    train: list[Sentence]
    validation: list[Sentence]
    test: list[Sentence]

    def items(self) -> list[tuple[str, list[Sentence]]]:
        return [("train", self.train), ("validation", self.validation), ("test", self.test)]
