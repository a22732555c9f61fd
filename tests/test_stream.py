"""Streaming: sentence chunks that add up to the whole, with motion that flows across them."""

import numpy as np

import avatarlab
from avatarlab.motion import frame_count

SCRIPT = "Hello there. Maybe we can paint a map today. Bye!"


def test_chunks_add_up_to_the_whole_and_play_in_order(astronaut):
    chunks, frames = [], []
    for chunk in avatarlab.stream(SCRIPT, astronaut):
        chunks.append(chunk)
        frames.append([f for f in chunk.frames])
    assert len(chunks) == 3
    whole = avatarlab.synthesize(SCRIPT)
    audio = np.concatenate([c.utterance.audio for c in chunks])
    assert np.array_equal(audio, whole.audio)
    assert sum(len(f) for f in frames) == frame_count(whole.duration, 25.0)
    assert all(len(f) == c.n_frames for f, c in zip(frames, chunks, strict=True))
    starts = [c.start for c in chunks]
    assert starts[0] == 0 and all(b > a for a, b in zip(starts, starts[1:], strict=False))


def test_head_motion_flows_across_chunk_boundaries(astronaut):
    last_and_first = []
    previous = None
    for chunk in avatarlab.stream(SCRIPT, astronaut):
        frames = list(chunk.frames)
        if previous is not None:
            last_and_first.append((previous, frames[0]))
        previous = frames[-1]
    for before, after in last_and_first:
        # Consecutive frames across a boundary differ as little as consecutive frames do.
        assert np.abs(before.astype(int) - after.astype(int)).mean() < 3.0
