"""The plugin registry: entry-point discovery, duplicates, misspelled hooks, documentation."""

from __future__ import annotations

import inspect
import types

import pluggy
import pytest

from bpnet.core import Architecture, BPNet, ChromBPNet
from bpnet.core.errors import RegistryError
from bpnet.core.plugin import PluginRef, hookimpl, hookspecs
from bpnet.core.plugin.registry import KINDS, Registry, registry


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


def test_third_party_plugin_is_discovered():
    pytest.importorskip("bpnet_arch_bottleneck")
    entry = Registry().entry("architecture", "bpnet-bottleneck")
    assert (entry.kind, entry.package, entry.version) == ("architecture", "bpnet-arch-bottleneck", "0.1.0")
    assert isinstance(entry.item, PluginRef)  # listed without importing the model
    assert entry.summary
    cls = entry.load()
    assert issubclass(cls, Architecture) and cls.name == "bpnet-bottleneck"


def test_entries_are_sorted_by_kind_then_name():
    entries = list(registry().entries())
    order = list(KINDS)
    keys = [(order.index(e.kind), e.name) for e in entries]
    assert keys == sorted(keys)


def test_disable_plugins(monkeypatch):
    pytest.importorskip("bpnet_arch_bottleneck")
    monkeypatch.setenv("BPNET_DISABLE_PLUGINS", "bottleneck, something-else")
    assert "bpnet-bottleneck" not in Registry().names("architecture")
    assert "bpnet" in Registry().names("architecture")


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
    assert "Example" in doc, f"{name}: docstring has no example"
    assert "@hookimpl" in doc, f"{name}: the example does not show @hookimpl"


def test_every_kind_has_a_hook():
    for kind, hook in KINDS.items():
        assert hasattr(hookspecs, hook), kind


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
