"""The plugin registry: entry-point discovery, duplicates, misspelled hooks, kind contracts, documentation.

The example plugin's own tests are in tests/plugins/.
"""

from __future__ import annotations

import inspect
import types

import pluggy
import pytest

from bpnet.core import Architecture, BPNet, ChromBPNet
from bpnet.core.errors import RegistryError
from bpnet.core.plugin import PluginRef, hookimpl, hookspecs
from bpnet.core.plugin.kinds import INTERFACES
from bpnet.core.plugin.registry import KINDS, Registry, registry
from bpnet.core.stages import Stage, StageParams


def plugin(name: str, **hooks) -> types.SimpleNamespace:
    """A plugin object: functions marked ``@hookimpl`` under the given hook names."""
    namespace = types.SimpleNamespace(__name__=name)
    for hook_name, function in hooks.items():
        function.__name__ = hook_name
        setattr(namespace, hook_name, hookimpl(function))
    return namespace


def test_builtins_come_through_entry_points():
    entries = {(e.kind, e.name): e for e in Registry().entries()}
    for name in ("bpnet", "chrombpnet"):
        entry = entries[("architecture", name)]
        assert entry.package == "bpnet-core"
        assert entry.version
        assert entry.plugin == "core"
    assert Registry().architecture("bpnet") is BPNet
    assert Registry().architecture("chrombpnet") is ChromBPNet


def test_entries_are_sorted_by_kind_then_name():
    entries = list(registry().entries())
    order = list(KINDS)
    keys = [(order.index(e.kind), e.name) for e in entries]
    assert keys == sorted(keys)


def test_every_builtin_meets_its_kind_contract():
    for entry in Registry().entries():
        entry.load()  # raises RegistryError for a class that does not


def test_duplicate_architecture_names_both_plugins():
    clash = plugin(
        "my_clashing_plugin",
        bpnet_register_architectures=lambda: [PluginRef("bpnet", "my_clashing_plugin.model:Net")],
    )
    with pytest.raises(RegistryError) as exc:
        Registry(plugins=[clash], entry_points=True)
    message = str(exc.value)
    assert "'bpnet'" in message
    assert "'core'" in message and "bpnet-core" in message
    assert "my_clashing_plugin" in message
    assert "\n" not in message


def test_duplicate_names_within_extra_plugins():
    one = plugin("plugin_one", bpnet_register_stages=lambda: [PluginRef("same", "a:B")])
    two = plugin("plugin_two", bpnet_register_stages=lambda: [PluginRef("same", "c:D")])
    with pytest.raises(RegistryError, match="plugin_one.*plugin_two|plugin_two.*plugin_one"):
        Registry(plugins=[one, two], entry_points=False)


def test_misspelled_hook_fails_fast():
    typo = plugin("typo_plugin", bpnet_register_architecture=lambda: [])
    with pytest.raises(pluggy.PluginValidationError, match="bpnet_register_architecture"):
        Registry(plugins=[typo], entry_points=False)


def test_registration_without_a_name():
    nameless = plugin("nameless_plugin", bpnet_register_architectures=lambda: [object()])
    with pytest.raises(RegistryError, match="nameless_plugin.*without a name"):
        Registry(plugins=[nameless], entry_points=False)


def test_extra_plugin_classes_register():
    class TinyNet(Architecture):
        """A tiny test architecture."""

        name = "tiny-net"

    extra = plugin("tiny_plugin", bpnet_register_architectures=lambda: [TinyNet])
    reg = Registry(plugins=[extra], entry_points=True)
    assert reg.architecture("tiny-net") is TinyNet
    entry = reg.entry("architecture", "tiny-net")
    assert entry.plugin == "tiny_plugin" and entry.summary == "A tiny test architecture."
    assert reg.name_of("architecture", TinyNet) == "tiny-net"
    assert reg.name_of("architecture", BPNet) == "bpnet"


@pytest.mark.parametrize("name", [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("bpnet_")])
def test_every_hook_is_documented(name):
    spec = getattr(hookspecs, name)
    assert getattr(spec, "bpnet_spec", None) is not None, f"{name} is not marked @hookspec"
    doc = inspect.getdoc(spec) or ""
    assert len([line for line in doc.splitlines() if line.strip()]) >= 5, f"{name}: docstring too short"
    assert "Called" in doc, f"{name}: docstring does not say when it is called"
    assert "Example" in doc, f"{name}: docstring has no example"
    assert "@hookimpl" in doc, f"{name}: the example does not show @hookimpl"
    for argument in inspect.signature(spec).parameters:
        assert f"``{argument}``" in doc, f"{name}: docstring does not explain its argument {argument}"


def test_every_kind_has_a_hook_and_a_documented_interface():
    assert set(INTERFACES) == set(KINDS)
    for kind, hook in KINDS.items():
        assert hasattr(hookspecs, hook), kind
        assert len((INTERFACES[kind].__doc__ or "").splitlines()) >= 5, f"{kind}: its interface is not documented"


def test_unknown_name_lists_what_is_installed():
    with pytest.raises(RegistryError) as exc:
        registry().architecture("no-such-net")
    message = str(exc.value)
    assert "unknown architecture 'no-such-net'" in message
    assert "bpnet" in message and "chrombpnet" in message


def test_unknown_dotted_path():
    with pytest.raises(RegistryError, match="no_such_module"):
        registry().architecture("no_such_module:Net")


def test_dotted_path_of_a_plain_module():
    assert registry().architecture("torch.nn:Linear").__name__ == "Linear"


def test_plugin_ref_to_a_missing_module():
    broken = plugin(
        "broken_plugin",
        bpnet_register_architectures=lambda: [PluginRef("broken-net", "no_such_package.model:Net")],
    )
    reg = Registry(plugins=[broken], entry_points=False)
    assert "broken-net" in reg.names("architecture")  # listing imports nothing
    with pytest.raises(RegistryError) as exc:
        reg.architecture("broken-net")
    message = str(exc.value)
    assert "broken-net" in message and "broken_plugin" in message and "no_such_package.model:Net" in message
    assert "\n" not in message


def test_plugin_ref_to_a_missing_class():
    broken = plugin(
        "broken_plugin", bpnet_register_architectures=lambda: [PluginRef("broken-net", "bpnet.core:NoSuchNet")]
    )
    with pytest.raises(RegistryError, match="NoSuchNet"):
        Registry(plugins=[broken], entry_points=False).architecture("broken-net")


# -- every class is checked against its kind ----------------------------------------------


class NotAModule:
    name = "not-a-module"


class StageWithoutParams(Stage):
    name = "no-params"

    def run(self, params, context) -> None:
        pass


class StageWithoutRun(Stage):
    name = "no-run"

    class Params(StageParams):
        n: int = 1


class SourceWithStringSuffixes:
    name = "frag-text"
    suffixes = ".frag"  # a str, not a tuple
    label = "x"

    def __init__(self, location):
        self.location = location


class SourceWithoutLabel:
    name = "no-label"
    suffixes = (".nl",)

    def __init__(self, location):
        self.location = location


class ImporterWithInstanceLoad:
    name = "half-importer"
    summary = "reads nothing"

    @classmethod
    def can_read(cls, source) -> bool:
        return False

    def load(self, source, **options):
        return None


class ExecutorWithArguments:
    name = "needs-workers"

    def __init__(self, workers: int):
        self.workers = workers

    def execute(self, graph, run_stage):
        return []


WRONG = [
    ("bpnet_register_architectures", "architecture", NotAModule, "which is not a torch.nn.Module subclass"),
    ("bpnet_register_stages", "stage", StageWithoutParams, "has no Params model derived from StageParams"),
    ("bpnet_register_stages", "stage", StageWithoutRun, "does not define run(self, params, context)"),
    ("bpnet_register_sources", "source", SourceWithStringSuffixes, "has suffixes '.frag': give a tuple of file endings"),
    ("bpnet_register_sources", "source", SourceWithoutLabel, "has no label"),
    ("bpnet_register_importers", "importer", ImporterWithInstanceLoad, "has no classmethod load(cls, source, **options)"),
    ("bpnet_register_executors", "executor", ExecutorWithArguments, "cannot be built without arguments"),
]


@pytest.mark.parametrize(("hook", "kind", "cls", "problem"), WRONG, ids=[c.__name__ for _, _, c, _ in WRONG])
def test_a_wrong_class_registered_directly_is_refused_naming_the_plugin(hook, kind, cls, problem):
    wrong = plugin("wrong_plugin", **{hook: lambda: [cls]})
    with pytest.raises(RegistryError) as exc:
        Registry(plugins=[wrong], entry_points=False)
    message = str(exc.value)
    assert message.startswith(f"{kind} '{cls.name}' from plugin 'wrong_plugin' (wrong_plugin) "), message
    assert problem in message and "\n" not in message
    assert exc.value.exit_code == 2


def test_a_wrong_plugin_ref_target_is_refused_when_first_loaded():
    wrong = plugin("wrong_plugin", bpnet_register_stages=lambda: [PluginRef("counter", "collections:Counter")])
    reg = Registry(plugins=[wrong], entry_points=False)
    assert reg.names("stage") == ["counter"]  # listing imports and checks nothing
    with pytest.raises(RegistryError) as exc:
        reg.stage("counter")
    assert str(exc.value) == (
        "stage 'counter' from plugin 'wrong_plugin' (wrong_plugin) is the class collections:Counter, whose name "
        "attribute is None, not 'counter': give the class the name it is registered under"
    )


def test_a_dotted_path_architecture_must_be_a_module():
    expected = (
        r"architecture 'collections:OrderedDict' \(a dotted path\) is the class collections:OrderedDict, which is not "
        r"a torch.nn.Module"
    )
    with pytest.raises(RegistryError, match=expected):
        registry().architecture("collections:OrderedDict")


def test_kinds_module_imports_nothing_heavy():
    import subprocess
    import sys

    script = "import sys, bpnet.core.plugin.kinds; print([m for m in ('torch', 'pydantic', 'numpy') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# -- importer choice ----------------------------------------------------------------------


class OnnxImporter:
    """Reads .onnx files (a test importer)."""

    name = "onnx"
    summary = "ONNX models"

    @classmethod
    def can_read(cls, source) -> bool:
        return str(source).endswith(".onnx")

    @classmethod
    def load(cls, source, **options):
        return ("loaded", str(source), options)


def test_importer_choice_by_name_or_by_what_can_read_the_file():
    reg = Registry(plugins=[plugin("onnx_plugin", bpnet_register_importers=lambda: [OnnxImporter])], entry_points=False)
    assert reg.importer_for("model.onnx") is OnnxImporter
    assert reg.importer_for("model.h5", "onnx") is OnnxImporter  # a name is taken at its word
    with pytest.raises(RegistryError, match=r"no installed importer reads model\.h5 \(importers: onnx\)"):
        reg.importer_for("model.h5")
    with pytest.raises(RegistryError, match=r"unknown importer 'keras' \(installed: onnx\)"):
        reg.importer_for("model.h5", "keras")
