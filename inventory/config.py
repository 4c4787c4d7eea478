"""The ledger's configuration: rules per node, and the family → SKU split of planned production.

Loadable from YAML (``InventoryConfig.load(path)``)::

    default: {allow_negative: false, staleness_s: 3600}
    nodes:
      store-7: {allow_negative: true}      # a marketplace that sells before its stock is booked
      plant-1: {staleness_s: 86400}        # reports once a day
    family_split:
      A: {sku-a1: 0.6, sku-a2: 0.4}
    production_node: plant-1               # the approved plan's production is received here
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["InventoryConfig", "NodeConfig", "planned_receipts"]

_SHARE_TOLERANCE = 1e-6


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # False: a shipment or transfer out that would drive on hand below 0 at any time is refused.
    # True: it is applied and reported as negative.
    allow_negative: bool = False
    # A node whose latest physical event happened longer ago than this is stale (its view is old).
    staleness_s: float = Field(default=3600, gt=0)


class InventoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: NodeConfig = NodeConfig()  # for every node not listed in ``nodes``
    nodes: dict[str, NodeConfig] = {}
    # family → {sku: share}: how a family's planned production splits into SKUs; shares sum to 1.
    family_split: dict[str, dict[str, float]] = {}
    # The node where the planned site's production arrives: its ATP counts the approved plan's output.
    production_node: str | None = None

    @field_validator("family_split")
    @classmethod
    def _shares_sum_to_one(cls, split: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for family, shares in split.items():
            if not shares:
                raise ValueError(f"family {family!r}: no SKUs to split into")
            negative = [sku for sku, share in shares.items() if not share >= 0]
            if negative:
                raise ValueError(f"family {family!r}: shares must be >= 0 ({', '.join(negative)})")
            total = math.fsum(shares.values())
            if abs(total - 1) > _SHARE_TOLERANCE:
                raise ValueError(f"family {family!r}: shares sum to {total:g}, not 1")
        return split

    def node(self, name: str) -> NodeConfig:
        return self.nodes.get(name, self.default)

    def family_of_sku(self) -> dict[str, str]:
        """Each split SKU's family (the first family that names it)."""
        found: dict[str, str] = {}
        for family, shares in self.family_split.items():
            for sku in shares:
                found.setdefault(sku, family)
        return found

    @classmethod
    def load(cls, path: str | Path) -> InventoryConfig:
        """Read a YAML file (an empty file is the default configuration)."""
        return cls.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


def planned_receipts(
    split: dict[str, dict[str, float]], family_production: list[tuple[str, date, float]]
) -> dict[str, list[tuple[date, int]]]:
    """Planned production per (family, day, units) → scheduled receipts per SKU, in whole units.

    Each family's units are rounded to a whole number, then split by the shares with the
    largest-remainder method, so the SKUs of a family receive exactly the family's total on each
    day (ties go to the SKU named first). Days with 0 units for a SKU are left out; a family
    produced on a day twice is summed. ValueError for a family the split does not know, or negative units.
    """
    receipts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for family, day, units in family_production:
        if family not in split:
            raise ValueError(f"family {family!r} has no SKU split (family_split in the inventory configuration)")
        if units < 0:
            raise ValueError(f"family {family!r} on {day}: planned production {units} is negative")
        for sku, qty in _largest_remainder(split[family], round(units)).items():
            if qty:
                receipts[sku][day] += qty
    return {sku: sorted(days.items()) for sku, days in sorted(receipts.items())}


def _largest_remainder(shares: dict[str, float], total: int) -> dict[str, int]:
    exact = {sku: share * total for sku, share in shares.items()}
    whole = {sku: math.floor(value) for sku, value in exact.items()}
    left = total - sum(whole.values())
    position = {sku: i for i, sku in enumerate(shares)}
    by_remainder = sorted(shares, key=lambda sku: (-(exact[sku] - whole[sku]), position[sku]))
    for sku in by_remainder[:left]:
        whole[sku] += 1
    return whole
