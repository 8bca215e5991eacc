"""The files the bad-input cases point at, and the shape of a case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.reliability.helpers import synthetic_prices, tiny_config, write_csv


class Files:
    """The files every case may point at (written once per module)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.good = write_csv(root / "good.csv", synthetic_prices(("AAA", "BBB"), n=500))
        self.short = write_csv(root / "short.csv", synthetic_prices(("CCC",), n=5))
        self.one = write_csv(root / "one.csv", synthetic_prices(("DDD",), n=1))
        (root / "adir.csv").mkdir()
        (root / "outfile").write_text("not a directory\n", encoding="utf-8")

    def data(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    def config(self, name: str, body: str | bytes, source: Path | None = None) -> Path:
        """A config that reads local files only, so a wrongly accepted one never goes online."""
        if isinstance(body, bytes):
            return self.data(name, body)
        src = f'[data]\nsource = "{source or self.good}"\ntickers = ["AAA"]\n'
        if body.lstrip().startswith("[data]"):
            src = ""
        top, _, rest = body.partition("\n#--\n") if "\n#--\n" in body else ("", "", body)
        return self.data(name, f"{top}\n{src}\n{rest}")

    def tiny(
        self, name: str, source: Path, tickers: tuple[str, ...], huge_test: bool = False
    ) -> Path:
        text = tiny_config(source, tickers)
        if huge_test:
            text = text.replace("test_size = 40", "test_size = 100000")
        return self.data(name, text)


# a case builds the argv from the files
Case = Callable[[Files], list[str | Path]]
