"""A synthetic product at any size, written the same way into this product, a Doorstop tree and
StrictDoc documents, so the tools are timed on the same graph.

Default data set (``DatasetSpec()``): 1,000 system requirements ``SYS-i``, 9,000 software
requirements ``SRS-i`` each derived from ``SYS-((i-1) mod 1000)+1``, 5,000 tests ``TST-i`` each
verifying ``SRS-((i-1) mod 9000)+1``, so 4,000 software requirements are not covered. Keys are
zero-padded to at least 5 digits. The text is seeded, so the same spec gives the same bytes.

Shared functions for other benchmarks:

- ``DatasetSpec`` (``DatasetSpec.of_items(15_000)``, ``DatasetSpec.scaled(10)``) and ``dataset_items``
- ``doorstop_write(spec, root)``, ``strictdoc_write(spec, directory)``
- ``product_load(spec, product_key=..., actor=None)`` (needs Django set up; uses ``items_import``)
- ``dataset_graph``, ``doorstop_graph_read``, ``strictdoc_graph_read``, ``product_graph_read``:
  the graph ``{key: (kind, parent key or None)}`` each holds, to check they agree

Command line (run from the project folder)::

    python -m benchmarks.generate --out benchmarks/out/15k --doorstop --strictdoc
    python -m benchmarks.generate --items 3000 --database-url sqlite:///benchmarks/out/3k.sqlite3 --product BENCH
    python -m benchmarks.generate --software 100000 --tests 100000 --database-url postgres://...
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTION_SIZE = 100  # items per StrictDoc section / Doorstop level group
IMPORT_CHUNK = 20_000  # rows per items_import call when loading into the product


@dataclass(frozen=True)
class Document:
    prefix: str  # SYS | SRS | TST
    kind: str  # this product's item kind
    title: str  # document title
    noun: str  # item title prefix
    parent: str | None  # parent document prefix
    link_type: str | None  # this product's link type to the parent


DOCUMENTS = (
    Document("SYS", "system_requirement", "System requirements", "System requirement", None, None),
    Document("SRS", "software_requirement", "Software requirements", "Software requirement", "SYS", "derives_from"),
    Document("TST", "test_case", "Tests", "Test", "SRS", "verifies"),
)


@dataclass(frozen=True)
class DatasetSpec:
    systems: int = 1_000
    software: int = 9_000
    tests: int = 5_000
    seed: int = 62304

    def __post_init__(self) -> None:
        if self.systems < 1 or self.software < 1 or self.tests < 0:
            raise ValueError("a data set needs at least one system and one software requirement")

    @classmethod
    def of_items(cls, items: int, seed: int = 62304) -> DatasetSpec:
        """The default proportions (1 : 9 : 5) at a total number of items."""
        systems = max(1, round(items / 15))
        software = max(1, round(items * 9 / 15))
        return cls(systems=systems, software=software, tests=max(0, items - systems - software), seed=seed)

    @classmethod
    def scaled(cls, scale: float, seed: int = 62304) -> DatasetSpec:
        return cls.of_items(round(15_000 * scale), seed=seed)

    @property
    def total(self) -> int:
        return self.systems + self.software + self.tests

    @property
    def digits(self) -> int:
        return max(5, len(str(max(self.systems, self.software, self.tests))))

    def count(self, prefix: str) -> int:
        return {"SYS": self.systems, "SRS": self.software, "TST": self.tests}[prefix]

    def key(self, prefix: str, number: int) -> str:
        return f"{prefix}-{number:0{self.digits}d}"

    def parent_number(self, prefix: str, number: int) -> int | None:
        if prefix == "SRS":
            return (number - 1) % self.systems + 1
        if prefix == "TST":
            return (number - 1) % self.software + 1
        return None

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class SynthItem:
    document: Document
    number: int
    key: str
    title: str
    text: str
    parent: str | None


def dataset_items(spec: DatasetSpec) -> Iterator[SynthItem]:
    """Every item of the data set, documents in order SYS, SRS, TST; the text is seeded."""
    rng = random.Random(spec.seed)
    for document in DOCUMENTS:
        for number in range(1, spec.count(document.prefix) + 1):
            parent_number = spec.parent_number(document.prefix, number)
            parent = spec.key(str(document.parent), parent_number) if parent_number is not None else None
            if document.prefix == "TST":
                text = (
                    f"Apply input {number} and check that function {parent_number} answers "
                    f"within {rng.randint(1, 500)} ms."
                )
            else:
                text = (
                    f"The {'system' if document.prefix == 'SYS' else 'software'} shall perform function "
                    f"{number} within {rng.randint(1, 500)} ms when input {number} is received."
                )
            yield SynthItem(
                document=document,
                number=number,
                key=spec.key(document.prefix, number),
                title=f"{document.noun} {number}",
                text=text,
                parent=parent,
            )


Graph = dict[str, tuple[str, str | None]]


def dataset_graph(spec: DatasetSpec) -> Graph:
    """{key: (document prefix, parent key)} as the generator means it."""
    return {item.key: (item.document.prefix, item.parent) for item in dataset_items(spec)}


# --- Doorstop ---------------------------------------------------------------------------------


def _level(number: int) -> str:
    return f"{(number - 1) // SECTION_SIZE + 1}.{(number - 1) % SECTION_SIZE + 1}"


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def doorstop_write(spec: DatasetSpec, root: Path, *, commit: bool = True) -> Path:
    """Write the data set as a Doorstop tree under ``root/reqs`` (one YAML file per item) in a git repo."""
    for document in DOCUMENTS:
        if spec.count(document.prefix) == 0:
            continue
        folder = root / "reqs" / document.prefix.lower()
        folder.mkdir(parents=True, exist_ok=True)
        settings = [f"  digits: {spec.digits}"]
        if document.parent:
            settings.append(f"  parent: {document.parent}")
        settings += [f"  prefix: {document.prefix}", "  sep: '-'"]
        (folder / ".doorstop.yml").write_text("settings:\n" + "\n".join(settings) + "\n", encoding="utf-8")
    for item in dataset_items(spec):
        links = f"links:\n- {item.parent}: null\n" if item.parent else "links: []\n"
        body = (
            "active: true\n"
            "derived: false\n"
            f"header: '{item.title}'\n"
            f"level: '{_level(item.number)}'\n"
            f"{links}"
            "normative: true\n"
            "ref: ''\n"
            "reviewed: null\n"
            f"text: |\n  {item.text}\n"
        )
        path = root / "reqs" / item.document.prefix.lower() / f"{item.key}.yml"
        path.write_text(body, encoding="utf-8")
    if commit:
        if not (root / ".git").exists():
            _git(root, "init", "--quiet")
        _git(root, "add", "-A")
        _git(root, "commit", "--quiet", "--allow-empty", "-m", "Generated benchmark tree")
    return root


def doorstop_graph_read(root: Path) -> Graph:
    """{key: (document prefix, parent key)} read back from a Doorstop tree."""
    import yaml

    graph: Graph = {}
    for path in sorted((root / "reqs").glob("*/*.yml")):
        if path.name.startswith("."):
            continue  # .doorstop.yml, the document's settings
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        parents = [next(iter(link)) for link in data.get("links") or []]
        if len(parents) > 1:
            raise ValueError(f"{path}: more than one parent")
        graph[path.stem] = (path.stem.split("-", 1)[0], parents[0] if parents else None)
    return graph


# --- StrictDoc --------------------------------------------------------------------------------


def strictdoc_write(spec: DatasetSpec, directory: Path) -> Path:
    """Write the data set as one ``.sdoc`` document per level, 100 requirements per section."""
    directory.mkdir(parents=True, exist_ok=True)
    handles: dict[str, Any] = {}
    try:
        for item in dataset_items(spec):
            document = item.document
            out = handles.get(document.prefix)
            if out is None:
                out = handles[document.prefix] = (directory / f"{document.prefix.lower()}.sdoc").open(
                    "w", encoding="utf-8", newline="\n"
                )
                out.write(f"[DOCUMENT]\nTITLE: {document.title}\nPREFIX: {document.prefix}-\n\n")
            if (item.number - 1) % SECTION_SIZE == 0:
                if item.number > 1:
                    out.write("[[/SECTION]]\n\n")
                out.write(f"[[SECTION]]\nTITLE: Group {(item.number - 1) // SECTION_SIZE + 1}\n\n")
            out.write(
                f"[REQUIREMENT]\nUID: {item.key}\nSTATUS: Active\nTITLE: {item.title}\n"
                f"STATEMENT: >>>\n{item.text}\n<<<\n"
            )
            if item.parent:
                out.write(f"RELATIONS:\n- TYPE: Parent\n  VALUE: {item.parent}\n")
            out.write("\n")
        for out in handles.values():
            out.write("[[/SECTION]]\n")
    finally:
        for out in handles.values():
            out.close()
    return directory


_UID = re.compile(r"^UID: (\S+)$")
_PARENT = re.compile(r"^  VALUE: (\S+)$")


def strictdoc_graph_read(directory: Path) -> Graph:
    """{key: (document prefix, parent key)} read back from the ``.sdoc`` files (this generator's layout)."""
    graph: Graph = {}
    for path in sorted(directory.glob("*.sdoc")):
        key: str | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := _UID.match(line):
                key = match.group(1)
                graph[key] = (key.split("-", 1)[0], None)
            elif (match := _PARENT.match(line)) and key is not None:
                if graph[key][1] is not None:
                    raise ValueError(f"{path}: {key} has more than one parent")
                graph[key] = (graph[key][0], match.group(1))
    return graph


# --- this product (needs Django set up) -------------------------------------------------------


def product_load(spec: DatasetSpec, *, product_key: str = "BENCH", actor: Any = None) -> int:
    """Create the product (if missing) and import the data set through ``items_import``, in one
    transaction, a chunk of rows per call. Returns the number of items created."""
    from django.db import transaction

    from traceability.models import Product
    from traceability.services.imports import ItemRow, items_import
    from traceability.services.products import product_create

    created = 0
    with transaction.atomic():
        product = Product.objects.filter(key=product_key).first()
        if product is None:
            product = product_create(
                key=product_key, name=f"Benchmark product ({spec.total} items)", safety_class="B", actor=actor
            )
        rows: list[ItemRow] = []

        def flush() -> int:
            report = items_import(product=product, rows=rows, actor=actor, source="benchmark")
            rows.clear()
            return report.items_created

        current = None
        for item in dataset_items(spec):
            # Parents must exist before their children's chunk: flush at each document boundary.
            if current is not None and item.document is not current and rows:
                created += flush()
            current = item.document
            links = {str(item.document.link_type): [item.parent]} if item.parent else {}
            rows.append(
                ItemRow(
                    row=len(rows) + 1,
                    key=item.key,
                    kind=item.document.kind,
                    title=item.title,
                    text=item.text,
                    status="approved",
                    links=links,
                )
            )
            if len(rows) >= IMPORT_CHUNK:
                created += flush()
        if rows:
            created += flush()
    return created


def product_graph_read(product_key: str = "BENCH") -> Graph:
    """{key: (document prefix, parent key)} read back from the database."""
    from traceability.models import Item, Link

    graph: Graph = {
        key: (key.split("-", 1)[0], None)
        for key in Item.objects.filter(product__key=product_key).values_list("key", flat=True)
    }
    for source, target in Link.objects.filter(product__key=product_key).values_list("source__key", "target__key"):
        if graph[source][1] is not None:
            raise ValueError(f"{source} has more than one parent")
        graph[source] = (graph[source][0], target)
    return graph


# --- command line -----------------------------------------------------------------------------


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    if args.items is not None:
        return DatasetSpec.of_items(args.items, seed=args.seed)
    if args.scale is not None:
        return DatasetSpec.scaled(args.scale, seed=args.seed)
    default = DatasetSpec()
    return DatasetSpec(
        systems=args.systems if args.systems is not None else default.systems,
        software=args.software if args.software is not None else default.software,
        tests=args.tests if args.tests is not None else default.tests,
        seed=args.seed,
    )


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_argument_group("size (default: 1,000 SYS + 9,000 SRS + 5,000 TST)")
    size.add_argument("--items", type=int, help="total items, in the default 1:9:5 proportions")
    size.add_argument("--scale", type=float, help="multiple of the default 15,000 items")
    size.add_argument("--systems", type=int, help="system requirements")
    size.add_argument("--software", type=int, help="software requirements")
    size.add_argument("--tests", type=int, help="tests")
    size.add_argument("--seed", type=int, default=62304)


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.environment import benchmark_secrets

    benchmark_secrets()
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_spec_arguments(parser)
    parser.add_argument("--out", type=Path, help="folder for the Doorstop tree and StrictDoc documents")
    parser.add_argument("--doorstop", action="store_true", help="write OUT/doorstop (a git repo)")
    parser.add_argument("--strictdoc", action="store_true", help="write OUT/strictdoc/*.sdoc")
    parser.add_argument("--database-url", help="load into this database (migrated first)")
    parser.add_argument("--product", default="BENCH", help="product key in the database (default BENCH)")
    args = parser.parse_args(argv)
    spec = spec_from_args(args)
    if (args.doorstop or args.strictdoc) and args.out is None:
        parser.error("--doorstop and --strictdoc need --out")
    if not (args.doorstop or args.strictdoc or args.database_url):
        parser.error("nothing to write: give --doorstop, --strictdoc and/or --database-url")
    print(f"data set: {spec.systems} SYS + {spec.software} SRS + {spec.tests} TST = {spec.total} items")
    if args.doorstop:
        print(f"Doorstop tree: {doorstop_write(spec, args.out / 'doorstop')}")
    if args.strictdoc:
        print(f"StrictDoc documents: {strictdoc_write(spec, args.out / 'strictdoc')}")
    if args.database_url:
        django_setup(args.database_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        created = product_load(spec, product_key=args.product)
        print(f"product {args.product}: {created} items created")
    return 0


if __name__ == "__main__":
    sys.exit(main())
