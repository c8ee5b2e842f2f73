"""The package's layers hold at call time too: no import statement, at module level or inside
a function, runs up the layers core -> classical -> envs -> rl -> paper -> integrations."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "deepstock_lite"
LAYERS = {"core": 0, "classical": 1, "envs": 2, "rl": 3, "paper": 4, "integrations": 5}
#: the package's top-level modules (book tools, plots) sit above every layer; the two that
#: import nothing from the package (glue, result tables) may be used by any layer
TOP = max(LAYERS.values()) + 1
LEAVES = {"glue": -1, "tables": -1}


def _layer(module):
    """Layer of ``deepstock_lite.<sub>...``; the top-level modules are above all layers."""
    parts = module.split(".")
    if parts[0] != "deepstock_lite":
        return None
    if len(parts) == 1:
        return TOP
    return LAYERS.get(parts[1], LEAVES.get(parts[1], TOP))


def _imports(path):
    """``(lineno, target module)`` of every ``deepstock_lite`` import in ``path``."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    module = ".".join(rel.parts)
    package = module[:-len(".__init__")] if path.name == "__init__.py" \
        else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            for name in names:
                yield node.lineno, name
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name


def test_no_import_runs_up_the_layers():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        me = _layer(".".join(rel.parts).removesuffix(".__init__"))
        for lineno, target in _imports(path):
            there = _layer(target)
            if there is not None and there > me:
                found.append(f"{path.relative_to(PACKAGE)}:{lineno} imports {target}")
    assert not found, "\n".join(found)


def test_no_module_imports_a_private_name_of_another():
    """A name another module needs is public: no ``from .x import _name`` in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and \
                    (node.level or (node.module or "").startswith("deepstock_lite")):
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {private}")
    assert not found, "\n".join(found)
