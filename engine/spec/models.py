"""Pydantic models of every spec file kind. The JSON Schemas in schemas/spec are generated
from these (`billsync schemas --write`), so the models are the one source of truth."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

from engine.load.names import DEFINITION_PATTERN, IDENTIFIER_PATTERN, definition_problem

SPEC_FORMAT = 1
Expr = Annotated[str, Field(description="An expression of the billsync expression language.")]


def _definition_name(name: str) -> str:
    """Rejects a definition's name that is a word of the expression language (the pattern
    has already rejected every other shape)."""
    problem = definition_problem(name)
    if problem is not None:
        raise PydanticCustomError("identifier", "{problem}", {"problem": problem.message})
    return name


# The name of a definition: lower-case identifier (engine/load/names.py). pydantic's `$`
# (Rust regex) is the end of the text: "rule\n" does not match.
Ident = Annotated[str, Field(pattern=DEFINITION_PATTERN), AfterValidator(_definition_name)]
# For editors: keys that are names follow the identifier rule (checked at load, E107).
NAMED_KEYS: dict[str, Any] = {"propertyNames": {"pattern": IDENTIFIER_PATTERN}}
Emits = Annotated[
    dict[str, dict[str, Expr] | Expr],
    Field(description="Per target entity or stream: its fields one by one, or one expression "
          "giving the whole record (e.g. `item with {minutes: taken}`)."),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_ref: str | None = Field(default=None, alias="$schema", description="Editor schema hint.")


class FieldSpec(BaseModel):
    """A field of an entity: a type name, or a full declaration."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["string", "int", "decimal", "bool", "date", "datetime", "money", "enum", "list",
                  "record"]
    optional: bool = False
    values: list[str] | None = Field(default=None, description="Members, for type enum.")
    of: FieldSpec | str | None = Field(default=None, description="Item type, for type list.")
    fields: dict[str, FieldSpec | str] | None = Field(default=None, description="For type record.")
    minimum: int | None = Field(default=None, description="Smallest allowed value (int fields).")
    description: str = ""


class EffectiveSpec(BaseModel):
    """How rows of a reference entity are dated, for effective-dated lookups."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", description="Field holding the first day in force.")
    to: str | None = Field(default=None, description="Field holding the last day (inclusive).")
    version: str | None = Field(
        default=None, description="Field numbering versions; the latest in force wins."
    )
    of: list[str] | None = Field(
        default=None, description="The fields naming what a row dates (default: the key "
        "without the dating and version fields): a later row of the same thing replaces an "
        "earlier one.")
    latest: bool = Field(
        default=False, description="With `to`: still the latest row on or before the day is "
        "in force (until its own `to`), rather than every row whose span holds the day.")


class IssuedSpec(BaseModel):
    """An output entity whose records are issued documents: once a run's periods are issued,
    a later run given that run's folder (`--issued`) carries them unchanged."""

    model_config = ConfigDict(extra="forbid")
    period: str = Field(description="The field holding a record's period.")
    read_as: Ident | None = Field(
        default=None, description="The name rules read the issued records by (an entity of "
        "kind issued: lookups, and `for:` rules, which see each issued record once).")


class EntitySpec(_Spec):
    """A canonical, vendor or output entity: its fields, key and dating."""

    entity: Ident
    kind: Literal["reference", "event", "output", "stream", "vendor"] = Field(
        description="reference and event: inputs; output: written by a run; stream: typed "
        "records passed between rules, never written; vendor: a vendor's record.")
    description: str = ""
    key: list[str]
    revision: str | None = Field(default=None, description="Field whose higher value replaces.")
    effective: EffectiveSpec | None = None
    order_by: list[str] = Field(default_factory=list, description="Processing order of events.")
    dated_by: list[str] = Field(
        default_factory=list, description="Date or date-time fields giving an event's date "
        "(the latest present one): a run without --through closes through the period of the "
        "latest dated input record.")
    issued: IssuedSpec | None = Field(
        default=None, description="Output entities only: its records are issued documents.")
    fields: dict[str, FieldSpec | str]


class MappingSpec(_Spec):
    """A vendor record <-> canonical entity mapping: one expression per target field."""

    mapping: Ident
    vendor: str
    direction: Literal["inbound", "outbound"]
    description: str = ""
    source: Ident
    target: Ident
    when: Expr | None = Field(
        default=None, description="Outbound only: the records this mapping sends (e.g. credit "
        "notes to one endpoint, invoices to another); the others are not its payloads.")
    let: dict[str, Expr] = Field(default_factory=dict, json_schema_extra=NAMED_KEYS)
    fields: dict[str, Expr]


class ExceptionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    message: str = Field(description="A template: text with {expression} parts.")
    contract_line_id: Expr | None = None
    field: str | None = None
    old_amount: Expr | None = Field(default=None, description="For a re-pricing: before.")
    new_amount: Expr | None = Field(default=None, description="For a re-pricing: after.")
    source_entity: Expr | None = Field(
        default=None, description="The record the exception is about, when not the one being "
        "processed (e.g. an item of a group); with source_id.")
    source_id: Expr | None = None


class StepSpec(BaseModel):
    """One step of a record rule. `when` guards it; exception, exclude and stop end the
    record (`stop: true` alone: nothing more to do)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    when: Expr | None = None
    let: dict[str, Expr] | None = Field(default=None, json_schema_extra=NAMED_KEYS)
    require: dict[str, Expr] | None = Field(
        default=None, description="Bind a present value; when absent, the `else` outcome runs.",
        json_schema_extra=NAMED_KEYS,
    )
    else_: OutcomeSpec | None = Field(default=None, alias="else")
    emit: Emits | None = None
    stop: bool | None = Field(default=None, description="End the record after this step "
                              "(exceptions do unless stop: false, for notices).")
    exception: ExceptionSpec | None = None
    exclude: str | None = Field(default=None, description="Reason the record is excluded.")
    note: str = ""


class OutcomeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exception: ExceptionSpec | None = None
    exclude: str | None = None
    emit: Emits | None = None


class RecordRuleSpec(BaseModel):
    """A rule run once per record of a stream, as an ordered list of steps."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: Ident
    description: str = ""
    for_: Ident = Field(alias="for", description="The entity or stream the rule reads.")
    as_: Ident = Field(alias="as", description="The name of the current record.")
    steps: list[StepSpec]


class EmitEachSpec(BaseModel):
    """Emit once per element of a list (e.g. each line of an invoice, with its share)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    for_: Ident = Field(alias="for", description="The name of the current element.")
    in_: Expr = Field(alias="in", description="The list to go through.")
    emit: Emits


class GroupRuleSpec(BaseModel):
    """A rule that groups a stream by key and emits records per group: once (`emit`) or
    once per element of a list (`emit_each`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: Ident
    description: str = ""
    group: Ident = Field(description="The entity or stream grouped.")
    as_: Ident = Field(alias="as")
    by: dict[str, Expr] = Field(json_schema_extra=NAMED_KEYS)
    aggregate: dict[str, Expr] = Field(default_factory=dict, json_schema_extra=NAMED_KEYS)
    let: dict[str, Expr] = Field(default_factory=dict, json_schema_extra=NAMED_KEYS)
    emit: Emits = Field(default_factory=dict)
    emit_each: EmitEachSpec | None = None


def _rule_kind(value: Any) -> str:
    return "group" if isinstance(value, dict) and "group" in value else "record"


Rule = Annotated[
    Annotated[RecordRuleSpec, Tag("record")] | Annotated[GroupRuleSpec, Tag("group")],
    Discriminator(_rule_kind),
]


class ExceptionCodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: Literal["project_ops", "finance", "integration_support"]
    severity: Literal["error", "warning", "info"] = "error"
    description: str = ""


class RulePackSpec(_Spec):
    """A pack of billing or revenue rules, with the exception codes they raise."""

    pack: Ident
    description: str = ""
    exception_codes: dict[str, ExceptionCodeSpec] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str = Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$",
        description="A JSONL file in the data folder, in the vendor's format: a path relative "
                    "to the data folder in letters, digits, '.', '_' and '-', folders "
                    "separated by '/' (no absolute path, no '..', no hidden file).")
    mapping: Ident = Field(description="The inbound mapping that reads it.")
    optional: bool = Field(default=False, description="The file may be absent. A declared "
                           "input that is missing otherwise stops the run (E502).")


class ManifestSpec(_Spec):
    """billsync.yaml: a firm's project."""

    name: str
    version: str
    spec_format: Literal[1] = Field(description="Version of the spec file format.")
    description: str = ""
    packs: list[str] = Field(description="Pack folders: shipped (e.g. rules/billing) or ./local.")
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: list[Ident] = Field(default_factory=list, description="Outbound mappings to run.")
    policies: dict[str, str | int | bool] = Field(default_factory=dict,
                                                  json_schema_extra=NAMED_KEYS)
    tests: list[str] = Field(default_factory=lambda: ["tests"])


class SpecTestCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    through: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")
    given: dict[str, list[dict[str, Any]]]
    expect: dict[str, list[dict[str, Any]]]
    absent: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Records that must not appear."
    )


class SpecTestFile(_Spec):
    """Given/expect cases for `billsync test`."""

    tests: list[SpecTestCase]


SPEC_KINDS: dict[str, type[_Spec]] = {
    "manifest": ManifestSpec,
    "entity": EntitySpec,
    "mapping": MappingSpec,
    "rule_pack": RulePackSpec,
    "spec_test": SpecTestFile,
}
