"""Sorted runs: items kept in memory up to a chunk, spilled beyond it to temporary files as
sorted runs, and read back merged in key order. Memory stays bounded by the chunk size
whatever the input size; small runs never touch the disk."""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")
BATCH = 2_000  # items per pickle frame in a run file


class SortedRuns(Generic[T]):
    def __init__(self, key: Callable[[T], Any] | None, chunk: int = 100_000,
                 folder: Path | None = None) -> None:
        """key=None sorts items by their natural order (fastest: no key calls)."""
        self.key, self.chunk, self.folder = key, chunk, folder
        self.buffer: list[T] = []
        self.runs: list[Path] = []
        self.count = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def add(self, item: T) -> None:
        self.buffer.append(item)
        self.count += 1
        if len(self.buffer) >= self.chunk:
            self._spill()

    def __len__(self) -> int:
        return self.count

    def _spill(self) -> None:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="billsync-", dir=self.folder)
        path = Path(self._tmp.name) / f"run-{len(self.runs):05d}.pickle"
        self.buffer.sort(key=self.key)
        with path.open("wb") as handle:
            for start in range(0, len(self.buffer), BATCH):
                pickle.dump(self.buffer[start:start + BATCH], handle, protocol=5)
        self.runs.append(path)
        self.buffer = []

    @staticmethod
    def _read(path: Path) -> Iterator[T]:
        with path.open("rb") as handle:
            while True:
                try:
                    batch: list[T] = pickle.load(handle)
                except EOFError:
                    return
                yield from batch

    def __iter__(self) -> Iterator[T]:
        """Every item in key order; equal keys keep the order they were added in."""
        self.buffer.sort(key=self.key)
        if not self.runs:
            return iter(self.buffer)
        runs = [*(self._read(p) for p in self.runs), iter(self.buffer)]
        merged: Iterator[T] = heapq.merge(*runs, key=self.key)  # type: ignore[arg-type]
        return merged

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self.buffer, self.runs = [], []
