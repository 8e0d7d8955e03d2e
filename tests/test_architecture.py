"""The package's architecture: stages that import only the stages before them.

Data flows one way, core -> read -> nlp -> extract -> record -> tables -> meta; batch orchestrates
the stages, review (the curation page) rebuilds tables and pooling through batch, and the modules at
the top (cli, evaluate) use any of them. Every import of a module of the package (at the top of a
module or inside a function, where the heavy ones sit) is read from the source, so a back-edge fails
here rather than as an import cycle one day.

`python tests/test_architecture.py` prints the graph between stages.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"
# Each stage may import the stages before it in this list (and itself), never one after it.
STAGES = ["core", "read", "nlp", "extract", "record", "tables", "meta", "batch", "review", "top"]


def module_name(path: Path) -> str:
    parts = ["pipeline", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir() and parts[1] in STAGES:
        return parts[1]
    return "top"   # pipeline/__init__.py, cli.py, evaluate.py, runner.py (the notebooks' alias)


def imports() -> list[tuple[str, str, int, str]]:
    """(importing module, imported module, line, how it is spelled) for every import of the package."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        source = module_name(path)
        base = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "pipeline":
                        found.append((source, alias.name, node.lineno, f"import {alias.name}"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    parts = parts[:len(parts) - (node.level - 1)]
                    target = ".".join(parts + ([node.module] if node.module else []))
                elif node.module and node.module.split(".")[0] == "pipeline":
                    target = node.module
                else:
                    continue
                spelled = f"from {'.' * node.level}{node.module or ''} import ..."
                for alias in node.names:
                    # `from . import lock` imports the module pipeline.lock; `from .x import y`, module .x
                    sub = f"{target}.{alias.name}"
                    found.append((source, sub if sub in modules else target, node.lineno, spelled))
    return found


def stage_graph() -> dict[tuple[str, str], list[str]]:
    edges = defaultdict(list)
    for source, target, line, _ in imports():
        if target == "pipeline":
            continue   # the root package: its __version__
        a, b = stage_of(source), stage_of(target)
        if a != b:
            edges[(a, b)].append(f"{source}:{line} -> {target}")
    return edges


def test_no_stage_imports_a_later_stage():
    back = [f"{a} -> {b}: {where}" for (a, b), wheres in stage_graph().items()
            if STAGES.index(b) > STAGES.index(a) for where in wheres]
    assert not back, "imports against the flow of the stages:\n" + "\n".join(back)


def test_the_graph_between_stages_has_no_cycle():
    edges = stage_graph()
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    done, active = set(), []

    def visit(stage):
        if stage in active:
            raise AssertionError("import cycle between stages: " + " -> ".join([*active[active.index(stage):], stage]))
        if stage in done:
            return
        active.append(stage)
        for after in sorted(graph[stage]):
            visit(after)
        active.pop()
        done.add(stage)

    for stage in sorted(graph):
        visit(stage)


def test_the_package_imports_itself_relatively():
    absolute = [f"{source}:{line}: {spelled}" for source, _, line, spelled in imports()
                if not spelled.startswith("from .")]
    assert not absolute, "\n".join(absolute)


def test_the_root_package_imports_nothing_eagerly():
    # `import pipeline` (the CLI's version) must not load a stage.
    assert not [i for i in imports() if i[0] == "pipeline"]


def test_every_subpackage_is_a_stage():
    folders = {p.parent.relative_to(PACKAGE).parts[0] for p in PACKAGE.glob("*/__init__.py")}
    assert folders <= set(STAGES), folders - set(STAGES)


def test_the_rules_hash_leaves_out_only_modules_that_exist_and_covers_every_rule_stage():
    # A neutral path misspelt or left behind by a move would silently put its module in the hash;
    # a rule module left out would let a cached paper keep a record the current rules do not give.
    from pipeline.batch import cache

    assert all((PACKAGE / name).is_file() for name in cache.RECORD_NEUTRAL), \
        [name for name in cache.RECORD_NEUTRAL if not (PACKAGE / name).is_file()]
    hashed = {p.relative_to(PACKAGE).as_posix() for p in cache.rule_files() if p.is_relative_to(PACKAGE)}
    for stage in ("core", "read", "nlp", "extract"):
        modules = {p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / stage).rglob("*.py")
                   if "__pycache__" not in p.parts}
        assert modules <= hashed, sorted(modules - hashed)


def test_the_names_notebooks_import_by_stay_importable():
    # README.md's examples: the module paths moved, these names did not.
    from pipeline.nlp import document_to_paper, get_nlp
    from pipeline.read import read_document
    from pipeline.runner import process_file
    from pipeline.tables import read_table

    assert all(map(callable, (document_to_paper, get_nlp, read_document, process_file, read_table)))



def test_the_batch_and_its_tables_load_without_spacy():
    """An unchanged run extracts nothing: the modules it needs must not import spaCy (1.4 s) through
    the extract or nlp package; only a worker that extracts a paper loads it."""
    import subprocess
    import sys

    code = ("import sys, pipeline.cli, pipeline.batch.runner, pipeline.record.checks, pipeline.record.build, "
            "pipeline.tables, pipeline.meta.run; print(sorted(m for m in sys.modules if m == 'spacy' or "
            "m.startswith(('pipeline.extract', 'pipeline.nlp'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

if __name__ == "__main__":
    for (a, b), wheres in sorted(stage_graph().items(), key=lambda e: (STAGES.index(e[0][0]), STAGES.index(e[0][1]))):
        mark = "BACK-EDGE " if STAGES.index(b) > STAGES.index(a) else ""
        print(f"{mark}{a:8} -> {b:8} {len(wheres):3} imports")


def test_a_data_file_with_a_missing_or_misspelt_key_is_refused_naming_the_file_and_the_key():
    import copy

    import pytest

    from pipeline.core import vocab

    concepts = vocab.load("concepts.json")
    assert set(concepts["grammar"]) >= {"joiners", "relative"}
    bad = copy.deepcopy(concepts)
    bad["grammar"]["joinerz"] = bad["grammar"].pop("joiners")
    with pytest.raises(vocab.DataFileError, match=r"^pipeline/data/concepts\.json: missing key grammar\.'joiners'$"):
        vocab.checked("concepts.json", bad)
    bad = copy.deepcopy(concepts)
    bad["concept"] = bad.pop("concepts")
    with pytest.raises(vocab.DataFileError, match=r"concepts\.json: missing key 'concepts'"):
        vocab.checked("concepts.json", bad)
    del bad["concept"]
    bad["concepts"], bad["extra"] = {}, 1
    with pytest.raises(vocab.DataFileError, match=r"concepts\.json: unknown key 'extra' \(known: concepts, grammar\)"):
        vocab.checked("concepts.json", bad)
    with pytest.raises(vocab.DataFileError, match=r"not a data file"):
        vocab.load("nosuch.json")
    assert all(vocab.load(name) for name in vocab.DATA_FILES)
