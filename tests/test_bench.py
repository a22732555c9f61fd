"""`avatarlab bench` runs every stage and reports consistent figures."""

from avatarlab.bench import measure


def test_bench_reports_every_stage_consistently():
    figures = measure(seconds=2)
    assert figures["speech_seconds"] > 1.0
    for key in (
        "speech_realtime_factor",
        "render_fps",
        "encode_only_fps",
        "render_encode_fps",
        "end_to_end_realtime_factor",
        "align_realtime_factor",
        "animate_realtime_factor",
        "peak_memory_mb",
    ):
        assert figures[key] > 0, key
    for key in ("speech_cpu_s", "render_cpu_s", "encode_cpu_s"):
        assert figures[key] > 0, key
    # No run can beat the ceiling that the stages' CPU time sets (some slack: noise).
    assert figures["end_to_end_realtime_factor"] <= 1.15 * figures["end_to_end_ceiling"]
    assert (
        figures["end_to_end_slowest"]
        <= figures["end_to_end_realtime_factor"]
        <= figures["end_to_end_fastest"]
    )
    # Rendering and encoding together cannot beat either alone.
    assert figures["render_encode_fps"] <= 1.1 * figures["encode_only_fps"]
    assert figures["render_encode_fps"] <= 1.1 * figures["render_fps"]
