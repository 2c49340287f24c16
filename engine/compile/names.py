"""The names of a generated module, each kind in a namespace of its own.

| kind                         | generated name            |
|------------------------------|---------------------------|
| a user's local (let, as, ...) | `v_<name>`                |
| runtime function             | `rt_<name>` (surface.py)  |
| entity check                 | `check_<entity>`, nested `check_<entity>_N<k>` |
| mapping                      | `map_<id>`, fused `ingest_<id>` |
| record rule                  | `rule_<id>`               |
| group rule                   | `group_<id>_add`, `group_<id>_emit`, table `GROUPS_<id>` |
| decimal constant             | `K<n>`                    |
| generated locals             | `raw value item key acc emitted f<n>` |

Spec names follow the identifier rule (lower case for ids and entities, checked at load), so
no two kinds can produce the same name; `Names.define` still refuses a second definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.compile import pyast as py

EMITTED = "__emitted"  # the checker's name for a whole emitted record (see check/rules.py)


@dataclass(frozen=True)
class Owner:
    """What a generated function was made from: a rule, a mapping or an entity."""

    kind: str  # rule, mapping, entity
    id: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.id}"


def local(name: str) -> str:
    """The Python local of a name the spec binds."""
    return "emitted" if name == EMITTED else py.identifier(f"v_{name}")


class Names:
    """Top-level names of one module, with the spec element each function was made from."""

    def __init__(self) -> None:
        self.owners: dict[str, Owner] = {}
        self.defined: set[str] = set()
        self._nested = 0

    def define(self, name: str, kind: str | None = None, ident: str | None = None) -> str:
        py.identifier(name)
        if name in self.defined:
            raise py.CompileBug(f"'{name}' would be defined twice")
        self.defined.add(name)
        if kind is not None and ident is not None:
            self.owners[name] = Owner(kind, ident)
        return name

    def nested_validator(self, entity: str) -> str:
        self._nested += 1
        return self.define(f"check_{entity}_N{self._nested}", "entity", entity)
