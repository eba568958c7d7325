"""JSON schema of pipeline specs, including every installed stage's parameters."""

from __future__ import annotations

from typing import Any

from ..plugin.registry import registry
from .model import PipelineSpec


def pipeline_schema() -> dict[str, Any]:
    """The spec schema; each stage entry is checked against its stage's ``Params``."""
    schema = PipelineSpec.model_json_schema()
    variants = []
    defs = schema.setdefault("$defs", {})
    reg = registry()
    for name in reg.names("stage"):
        cls = reg.stage(name)
        params = cls.Params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(params.pop("$defs", {}))
        key = f"params:{name}"
        defs[key] = params
        variants.append(
            {
                "type": "object",
                "title": name,
                "description": cls.summary(),
                "properties": {
                    "stage": {"const": name},
                    "params": {"$ref": f"#/$defs/{key}"},
                    "after": {"type": "array", "items": {"type": "string"}},
                    "per_fold": {"type": "boolean"},
                },
                "required": ["stage"],
                "additionalProperties": False,
            }
        )
    schema["properties"]["stages"]["additionalProperties"] = {"anyOf": variants}
    return schema
