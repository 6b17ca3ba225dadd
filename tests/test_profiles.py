"""Each team profile, interviewed through the engine, lands on the rung a consultant gives."""

from __future__ import annotations

import pytest

from bot.engine import Coach
from tests.profiles import RUNGS, Profile, interview_team, load_profiles

PROFILES = load_profiles()


@pytest.mark.parametrize("profile", PROFILES, ids=[p.team for p in PROFILES])
def test_the_profile_is_placed_where_a_consultant_would_place_it(
    coach: Coach, profile: Profile
) -> None:
    rung, results = interview_team(coach, profile)
    assert RUNGS[rung - 1] == RUNGS[profile.expected_rung - 1], profile.reason
    for result in results:
        assert 2 <= len(result.actions) <= 4
