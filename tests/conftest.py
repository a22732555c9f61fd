"""Shared, expensive fixtures: the bundled avatar rigged once, one real render reused."""

from __future__ import annotations

import pytest

import avatarlab

BILABIAL_SCRIPT = "Bob bought a big map. Peter may pay for the pump, maybe. Mom baked apple pie."


@pytest.fixture(scope="session")
def astronaut():
    return avatarlab.load_avatar()


@pytest.fixture(scope="session")
def bilabial_render(tmp_path_factory, astronaut):
    """The bundled portrait saying a sentence full of p/b/m and open vowels."""
    out = tmp_path_factory.mktemp("say") / "bilabial.mp4"
    return avatarlab.say(BILABIAL_SCRIPT, astronaut, output=out)
