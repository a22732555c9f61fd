"""`avatarlab bench`: how fast each stage runs here, as figures and same-run ratios.

Absolute numbers depend on the machine and what else it is doing; ratios taken in one run
(render+encode throughput over encode-only throughput, speech duration over compute time)
are what to compare between machines and commits.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from .options import Options
from .pipeline import Result, animate, load_avatar, motion_options, say
from .render import render_frames
from .speech import load_voice, synthesize
from .video import prefetch, write_video
from .video.encode import usable_cores

SCRIPT = (
    "Welcome back to the course. Today we will build a bright blue map of the moon, "
    "step by step, and maybe paint a few purple mountains. "
)


CHARS_PER_SECOND = 20.0
"""How fast the bundled voice reads SCRIPT, measured: 140 characters in about 7 s."""


def _script_for(seconds: float) -> str:
    """Roughly ``seconds`` of speech."""
    repeats = max(1, round(seconds * CHARS_PER_SECOND / len(SCRIPT)))
    return SCRIPT * repeats


def _peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


ROUNDS = 3


def _fps(path: Path, frames, n: int, utterance, options: Options) -> float:
    mark = time.perf_counter()
    write_video(
        path,
        frames,
        fps=options.fps,
        audio=utterance.audio,
        sample_rate=utterance.sample_rate,
        n_frames=n,
    )
    return n / (time.perf_counter() - mark)


def measure(seconds: float = 10.0, clip: str | Path | None = None) -> dict[str, float]:
    """Run every stage once on about ``seconds`` of speech and return the figures. The
    video-avatar row reads ``clip``, or else the photo render this run made."""
    options = Options()
    figures: dict[str, float] = {}
    mark = time.perf_counter()
    load_voice(None)
    figures["voice_load_s"] = time.perf_counter() - mark

    # A process's first synthesis also sets up onnxruntime's buffers, about a fifth more
    # CPU; the `say` runs below are warm, so the speech figures come from a warm run too.
    synthesize(_script_for(seconds))
    mark, cpu = time.perf_counter(), _cpu_seconds()
    utterance = synthesize(_script_for(seconds))
    spent = time.perf_counter() - mark
    figures["speech_seconds"] = utterance.duration
    figures["speech_realtime_factor"] = utterance.duration / spent
    figures["speech_cpu_s"] = _cpu_seconds() - cpu

    mark = time.perf_counter()
    avatar = load_avatar(None, size=options.size)
    figures["face_and_rig_s"] = time.perf_counter() - mark

    from .motion import make_track

    track = make_track(utterance, motion_options(options))
    n = track.n_frames
    mark, cpu = time.perf_counter(), _cpu_seconds()
    sample = []
    for frame in render_frames(avatar.rig, track):
        if len(sample) < 50:
            sample.append(frame)
    figures["render_fps"] = n / (time.perf_counter() - mark)
    figures["render_cpu_s"] = _cpu_seconds() - cpu

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        encode_only, both, encode_cpu = [], [], []
        # Alternate the two a few times and keep medians: the ratio is what matters, and
        # a shared machine's noise hits neighbouring runs alike.
        for _ in range(ROUNDS):
            frames = itertools.islice(itertools.cycle(sample), n)
            cpu = _cpu_seconds()
            encode_only.append(_fps(out / "encode.mp4", frames, n, utterance, options))
            encode_cpu.append(_cpu_seconds() - cpu)
            both.append(
                _fps(
                    out / "both.mp4",
                    prefetch(render_frames(avatar.rig, track)),
                    n,
                    utterance,
                    options,
                )
            )
        figures["encode_only_fps"] = statistics.median(encode_only)
        figures["render_encode_fps"] = statistics.median(both)
        figures["render_encode_over_encode_only"] = statistics.median(
            b / e for b, e in zip(both, encode_only, strict=True)
        )
        figures["encode_cpu_s"] = statistics.median(encode_cpu)
        figures.update(_cpu_ceiling(figures))

        result, speeds = _say_rounds(_script_for(seconds), out / "say.mp4")
        figures["end_to_end_realtime_factor"] = statistics.median(speeds)
        figures["end_to_end_slowest"], figures["end_to_end_fastest"] = min(speeds), max(speeds)

        # Recorded speech: the same audio, aligned to its transcript, then rendered.
        mark = time.perf_counter()
        recorded = animate(
            result.utterance.audio,
            avatar,
            text=result.utterance.text,
            sample_rate=result.utterance.sample_rate,
            output=out / "animate.mp4",
        )
        spent = time.perf_counter() - mark
        figures["align_realtime_factor"] = recorded.video.duration / recorded.timings["align"]
        figures["animate_realtime_factor"] = recorded.video.duration / spent
        figures["peak_memory_mb"] = _peak_memory_mb()
        figures.update(measure_clip(clip or result.video_path, utterance, out))
    return figures


def _say_rounds(text: str, output: Path) -> tuple[Result, list[float]]:
    """``say`` run ROUNDS times: the last result, and each run's speed over real time. One
    run of a few seconds swings by a fifth on a shared machine; their median does less."""
    speeds = []
    for _ in range(ROUNDS):
        mark = time.perf_counter()
        result = say(text, output=output)
        speeds.append(result.video.duration / (time.perf_counter() - mark))
    return result, speeds


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (the encoder's and the voice's too)."""
    spent = os.times()
    return spent.user + spent.system


def _cpu_ceiling(figures: dict[str, float]) -> dict[str, float]:
    """What text → MP4 could reach here if every core were busy all the time: the speech's
    length over the CPU its three stages take, shared by the cores. No scheduling makes
    end to end faster than this; only less work does."""
    cores = usable_cores()
    work = figures["speech_cpu_s"] + figures["render_cpu_s"] + figures["encode_cpu_s"]
    return {"cores": float(cores), "end_to_end_ceiling": figures["speech_seconds"] * cores / work}


def measure_clip(clip: str | Path, utterance, folder: Path) -> dict[str, float]:
    """The video-avatar row: reading a clip into an atlas (against the clip's length), and
    rendering speech with it, end to end. The cache goes to ``folder``, so the clip is
    really read, and the resident memory is sampled through the render: flat memory means
    the last quarter of the render holds no more than the first."""
    from .clip import build_clip_avatar, read_clip
    from .motion import make_track
    from .video import probe

    mark = time.perf_counter()
    avatar = build_clip_avatar(read_clip(clip, fps=Options().fps, cache=folder / "cache"))
    built = time.perf_counter() - mark

    track = make_track(utterance, motion_options(Options()))
    samples = []

    def sampled(frames):
        for index, frame in enumerate(frames):
            if index % 25 == 0:
                samples.append(_resident_mb())
            yield frame

    mark = time.perf_counter()
    write_video(
        folder / "clip.mp4",
        prefetch(sampled(avatar.frames(track))),
        fps=track.fps,
        audio=utterance.audio,
        sample_rate=utterance.sample_rate,
        n_frames=track.n_frames,
    )
    spent = time.perf_counter() - mark
    quarter = max(1, len(samples) // 4)
    return {
        "clip_seconds": probe(clip).duration or avatar.clip.duration,
        "clip_read_over_clip_length": avatar.clip.duration / built,
        "clip_render_realtime_factor": track.duration / spent,
        "clip_render_memory_growth_mb": max(samples[-quarter:]) - max(samples[:quarter]),
    }


def _resident_mb() -> float:
    """Resident memory now (Linux); the peak from getrusage elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return _peak_memory_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_benchmark(
    seconds: float = 10.0, as_json: bool = False, clip: str | Path | None = None
) -> int:
    figures = measure(seconds, clip)
    if as_json:
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=2))
        return 0
    lines = (
        "voice load (once per process)      {voice_load_s:.2f} s",
        "speech rendered                    {speech_seconds:.1f} s",
        "speech synthesis                   {speech_realtime_factor:.1f}× real time",
        "face landmarks + rig (once/avatar) {face_and_rig_s:.2f} s",
        "render only                        {render_fps:.0f} fps",
        "encode only (H.264 veryfast)       {encode_only_fps:.0f} fps",
        "render + encode                    {render_encode_fps:.0f} fps",
        "render+encode / encode-only        {render_encode_over_encode_only:.2f}",
        "end to end (text → MP4)            {end_to_end_realtime_factor:.1f}× real time",
        f"  {ROUNDS} runs: slowest, fastest         "
        "{end_to_end_slowest:.1f}×, {end_to_end_fastest:.1f}×",
        "  CPU: speech                      {speech_cpu_s:.2f} s",
        "  CPU: render                      {render_cpu_s:.2f} s",
        "  CPU: encode                      {encode_cpu_s:.2f} s",
        "  ceiling, every core busy         {end_to_end_ceiling:.1f}× real time",
        "align recording to transcript      {align_realtime_factor:.1f}× real time",
        "end to end (recording → MP4)       {animate_realtime_factor:.1f}× real time",
        "peak memory                        {peak_memory_mb:.0f} MB",
        "video avatar: clip read            {clip_seconds:.1f} s",
        "  clip read + atlas                {clip_read_over_clip_length:.1f}× faster than the clip",
        "  render + encode with the clip    {clip_render_realtime_factor:.1f}× real time",
        "  memory growth through the render {clip_render_memory_growth_mb:+.0f} MB",
    )
    for line in lines:
        print(line.format(**figures))
    return 0
