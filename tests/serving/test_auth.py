"""Bearer tokens with roles: who may write what."""

import stat

import pytest

from serving.auth import Principal, Role, Tokens, load_or_create_token
from serving.errors import ApiError

TOKENS = Tokens([("planner", Role.PLANNER, "p-secret"), ("store-7", Role.SOURCE, "s-secret"), ("ops", Role.ADMIN, "a")])


def _refusal(authorization, *roles) -> tuple[int, str]:
    with pytest.raises(ApiError) as error:
        TOKENS.check(authorization, *roles)
    return error.value.status, error.value.code


def test_a_token_with_the_role_names_its_holder():
    assert TOKENS.check("Bearer p-secret", Role.PLANNER) == Principal("planner", Role.PLANNER)
    assert TOKENS.check("bearer  s-secret ", Role.SOURCE) == Principal("store-7", Role.SOURCE)


def test_admin_may_do_everything():
    assert TOKENS.check("Bearer a", Role.PLANNER).role is Role.ADMIN


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer  ", "Basic p-secret", "p-secret", "Bearer nope"])
def test_no_token_or_an_unknown_one_is_a_401(authorization):
    assert _refusal(authorization, Role.PLANNER) == (401, "unauthorized")


def test_a_known_token_without_the_role_is_a_403():
    assert _refusal("Bearer s-secret", Role.PLANNER) == (403, "forbidden")


def test_the_token_file_is_made_once_and_only_its_owner_can_read_it(tmp_path):
    path = tmp_path / "home" / "planner-token"
    first = load_or_create_token(path)
    assert len(first) >= 24 and load_or_create_token(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_token_is_refused_at_start():
    with pytest.raises(ValueError, match="must not be empty"):
        Tokens([("planner", Role.PLANNER, "")])
