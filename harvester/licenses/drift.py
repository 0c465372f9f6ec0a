"""Licence drift along the family tree: a derivative whose licence grants what its sources withhold. Pure.

A fine-tune, adapter, merge or quantisation is bound by its base model's licence; a model trained on a
dataset is bound by the dataset's terms. When the derivative's own licence grants a right the base (or
a dataset) withholds (an Apache-2.0 fine-tune of a Llama or non-commercial base, a dropped use
restriction, a non-commercial dataset under a commercial model), its card claims more than its
sources allow. Inputs are plain values, so this does not depend on how a store keeps lineage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harvester.licenses.rules import ANSWER_KEYS

RIGHTS = {
    "research": "research use",
    "commercial": "commercial use",
    "modify": "modification",
    "copyright_derivative": "copyright in derivatives",
    "other_license": "another licence for derivatives (use restrictions or share-alike dropped)",
}


@dataclass(frozen=True)
class Licensed:
    """One artifact and its licence as the evidence settled it (``answers`` is None when unknown)."""

    id: str
    license: str | None
    answers: dict[str, bool] | None
    points: int | None = None
    evidence: str = ""  # where the licence was read and the rule that fired
    kind: str = "model"  # "model" | "dataset"

    @property
    def known(self) -> bool:
        return self.answers is not None and set(ANSWER_KEYS) <= set(self.answers)


@dataclass(frozen=True)
class Drift:
    """A derivative (``model``) granting rights its source (``source``) withholds."""

    model: Licensed
    source: Licensed
    relation: str  # "finetune" | "adapter" | "merge" | "quantized" | "dataset"
    rights: tuple[str, ...]  # ANSWER_KEYS the derivative grants and the source does not
    kinds: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        granted = ", ".join(RIGHTS[r] for r in self.rights)
        what = "dataset" if self.relation == "dataset" else f"base model ({self.relation})"
        return (f"{self.model.id} ({self.model.license}) grants {granted}, which its {what} {self.source.id} "
                f"({self.source.license}) withholds")

    def to_dict(self) -> dict[str, Any]:
        return {"model": asdict(self.model), "source": asdict(self.source), "relation": self.relation,
                "rights": list(self.rights), "kinds": list(self.kinds), "summary": self.summary}


def _kinds(rights: tuple[str, ...], relation: str) -> tuple[str, ...]:
    out = []
    if relation == "dataset":
        return ("non-commercial dataset under a commercial model",) if "commercial" in rights else ()
    if "commercial" in rights:
        out.append("commercial use its base forbids")
    if "other_license" in rights:
        out.append("use restriction or share-alike of the base dropped")
    if "modify" in rights or "copyright_derivative" in rights:
        out.append("derivative rights its base withholds")
    if "research" in rights:
        out.append("research use its base withholds")
    return tuple(out)


def compare(model: Licensed, source: Licensed, relation: str) -> Drift | None:
    """The drift of ``model`` from one source, or ``None`` when it grants nothing the source withholds.

    A drift is commercial use or relicensing (use restrictions, share-alike) granted against the
    source's terms, or any right granted when the derivative is more open overall (more points): a
    non-commercial fine-tune of a capped-commercial base grants "modify" but is stricter, not drifting.
    Unknown licences on either side settle nothing (no drift is claimed). Against a dataset only
    commercial use counts: a model trained on share-alike data is not itself that data.
    """
    if not model.known or not source.known or model.license == source.license:
        return None
    assert model.answers is not None and source.answers is not None
    keys = ("commercial",) if relation == "dataset" else ANSWER_KEYS
    rights = tuple(k for k in keys if model.answers[k] and not source.answers[k])
    if not rights or not ({"commercial", "other_license"} & set(rights) or (model.points or 0) > (source.points or 0)):
        return None
    return Drift(model, source, relation, rights, _kinds(rights, relation))


def find_drift(model: Licensed, bases: list[tuple[str, Licensed]], datasets: list[Licensed] = ()) -> list[Drift]:
    """Every drift of one model: against each base (``(relation, base)``) and each training dataset."""
    out = [d for relation, base in bases if (d := compare(model, base, relation)) is not None]
    out += [d for ds in datasets if (d := compare(model, ds, "dataset")) is not None]
    return out
