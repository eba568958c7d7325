"""The stage graph: topological order, ancestors and descendants."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError


@dataclass
class StageGraph:
    """Stage ids in a topological order and, for each, the ids it depends on."""

    order: list[str]
    dependencies: dict[str, set[str]]

    @classmethod
    def build(cls, dependencies: dict[str, set[str]]) -> StageGraph:
        """Order the stages (spec order among independent ones); a cycle is an error."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(node: str, trail: list[str]) -> None:
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                cycle = trail[trail.index(node):] + [node]
                raise SpecError(f"the stages form a cycle: {' -> '.join(cycle)}")
            state[node] = 1
            for dep in sorted(dependencies[node], key=list(dependencies).index):
                visit(dep, trail + [node])
            state[node] = 2
            order.append(node)

        for node in dependencies:
            visit(node, [])
        return cls(order, {k: set(v) for k, v in dependencies.items()})

    def ancestors(self, node: str) -> set[str]:
        found: set[str] = set()
        stack = [node]
        while stack:
            for dep in self.dependencies[stack.pop()]:
                if dep not in found:
                    found.add(dep)
                    stack.append(dep)
        return found

    def descendants(self, node: str) -> set[str]:
        found: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            for other, deps in self.dependencies.items():
                if current in deps and other not in found:
                    found.add(other)
                    stack.append(other)
        return found

    def subgraph(self, keep: set[str]) -> StageGraph:
        return StageGraph([n for n in self.order if n in keep], {n: self.dependencies[n] & keep for n in self.order if n in keep})
