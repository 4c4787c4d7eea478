"""The ledger's configuration: node rules, the family split, and planned production as SKU receipts."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from inventory import InventoryConfig, NodeConfig, planned_receipts

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)


def test_nodes_not_listed_follow_the_default():
    config = InventoryConfig(default=NodeConfig(staleness_s=60), nodes={"web": NodeConfig(allow_negative=True)})
    assert config.node("web").allow_negative and config.node("web").staleness_s == 3600
    assert config.node("store-9") == NodeConfig(staleness_s=60)


@pytest.mark.parametrize("shares", [{"a": 0.5, "b": 0.4}, {"a": 1.2, "b": -0.2}, {}])
def test_a_family_split_must_share_out_everything(shares):
    with pytest.raises(ValidationError, match="family 'F'"):
        InventoryConfig(family_split={"F": shares})


def test_planned_production_splits_into_whole_units_that_keep_each_total():
    split = {"F": {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, "G": {"g": 1.0}}
    receipts = planned_receipts(split, [("F", MONDAY, 100), ("F", TUESDAY, 2), ("G", MONDAY, 7.6), ("F", MONDAY, 1)])
    # 100 → 34/33/33 (ties to the SKU named first), +1 → a; 2 → 1/1/0 (c's 0 left out); 7.6 rounds to 8.
    assert receipts == {
        "a": [(MONDAY, 35), (TUESDAY, 1)],
        "b": [(MONDAY, 33), (TUESDAY, 1)],
        "c": [(MONDAY, 33)],
        "g": [(MONDAY, 8)],
    }


def test_planned_production_of_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="family 'H' has no SKU split"):
        planned_receipts({"F": {"a": 1.0}}, [("H", MONDAY, 10)])


def test_the_configuration_loads_from_yaml(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "default: {staleness_s: 600}\nnodes:\n  web: {allow_negative: true}\nfamily_split:\n  F: {a: 0.25, b: 0.75}\n"
    )
    config = InventoryConfig.load(path)
    assert config.node("web").allow_negative and config.node("x").staleness_s == 600
    assert config.family_split == {"F": {"a": 0.25, "b": 0.75}}
    (tmp_path / "empty.yaml").write_text("")
    assert InventoryConfig.load(tmp_path / "empty.yaml") == InventoryConfig()
