import pytest
from pydantic import ValidationError

from planning.domain.site import Site, load_site
from tests.planning.conftest import make_site


def test_generated_sample_site_loads(sample_dir):
    site = load_site(sample_dir / "site.yaml")
    assert len(site.lines) == 4 and site.families == ["F1", "F2", "F3", "F4", "F5"]
    assert all(line.maintenance is not None for line in site.lines)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"labour_pool_per_day": -1}, "labour_pool_per_day"),
        ({"shifts": []}, "shifts"),
        ({"shifts": [{"name": "a", "hours": 16}, {"name": "b", "hours": 16}]}, "more than 24 hours"),
        ({"initial_inventory": {"Q": 3}}, "initial_inventory"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_sites_are_rejected_naming_the_field(overrides, field):
    with pytest.raises(ValidationError, match=field):
        make_site(**overrides)


def test_bad_maintenance_window_is_rejected():
    lines = make_site().model_dump()["lines"]
    lines[0]["maintenance"] = {"duration_shifts": 1, "earliest_day": 5, "latest_day": 2}
    with pytest.raises(ValidationError, match="latest_day"):
        Site.model_validate({**make_site().model_dump(), "lines": lines})


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        load_site(path)


@pytest.mark.parametrize("products, locations, days", [(1, 1, 120), (3, 1, 150), (40, 5, 400)])
def test_generated_site_is_valid_for_any_sample_size(tmp_path, products, locations, days):
    from features.generate import SampleConfig, write_sample

    _, site_path = write_sample(
        tmp_path, seed=0, config=SampleConfig(products=products, locations=locations, days=days)
    )
    site = load_site(site_path)
    assert all(level.units_per_hour >= 1 for line in site.lines for level in line.speed_levels)
    assert site.costs.lost_sale_per_unit > site.costs.backlog_per_unit_day > site.costs.holding_per_unit_day


def test_a_site_digest_depends_on_the_rules_not_on_how_the_file_is_written(tmp_path):
    import json

    import yaml

    from planning import site_digest
    from tests.planning.conftest import make_site

    site = make_site()
    as_yaml, as_json = tmp_path / "site.yaml", tmp_path / "site.json"
    as_yaml.write_text(yaml.safe_dump(site.model_dump(mode="json"), sort_keys=False))
    as_json.write_text(json.dumps(site.model_dump(mode="json"), indent=4, sort_keys=True))
    assert site_digest(load_site(as_yaml)) == site_digest(load_site(as_json)) == site_digest(site)
    assert site_digest(make_site(labour_pool_per_day=9)) != site_digest(site)
