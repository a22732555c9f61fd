"""What a worker does with one job, and the files a finished job leaves in ``videos/<id>/``.

``video.mp4`` (or ``.webm``) and ``timeline.json``: the utterance's phones, words and pauses,
without the audio. Subtitles and viseme tracks are made from the timeline whenever they are
asked for (``avatarlab.exports``), so a fix to an exporter reaches videos made before it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exports import render_export
from ..options import Options
from ..pipeline import Result, animate, say
from ..types import Phone, Utterance, Word
from .audio import AudioStore
from .avatars import AvatarStore
from .jobs import Job
from .workers import Reporter

TIMELINE = "timeline.json"
CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


@dataclass(frozen=True)
class Export:
    format: str
    """The ``avatarlab.exports`` format that makes it."""
    suffix: str
    """End of the downloaded file's name."""
    media_type: str


EXPORTS = {
    "srt": Export("srt", "srt", "application/x-subrip; charset=utf-8"),
    "vtt": Export("vtt", "vtt", "text/vtt; charset=utf-8"),
    "visemes": Export("json", "visemes.json", "application/json"),
    "rhubarb": Export("rhubarb-tsv", "visemes.tsv", "text/tab-separated-values; charset=utf-8"),
}
"""What a finished job can be downloaded as, besides its video."""


@dataclass(frozen=True)
class RenderContext:
    videos: Path
    avatars: AvatarStore
    audio: AudioStore

    def folder(self, job_id: str) -> Path:
        return self.videos / job_id

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)


def render_job(job: Job, report: Reporter, context: RenderContext) -> dict[str, Any]:
    """Run the pipeline for one job; the summary returned becomes the job's result."""
    request = job.request
    options = Options(**request["options"]).validated()
    folder = context.folder(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"video.{options.format or 'mp4'}"
    report("face", 0, 1)
    avatar = context.avatars.rigged(
        request["avatar_id"], options.size, options.full_frame, options.fps
    )
    if request.get("audio_id"):
        samples, rate = context.audio.read(request["audio_id"])
        result = animate(
            samples,
            avatar,
            text=request.get("text"),
            sample_rate=rate,
            output=output,
            options=options,
            progress=report,
        )
    else:
        report("voice", 0, 1)
        result = say(request["text"], avatar, output=output, options=options, progress=report)
    save_timeline(result.utterance, folder / TIMELINE)
    return summary(result, output)


def summary(result: Result, output: Path) -> dict[str, Any]:
    video = result.video
    return {
        "file": output.name,
        "format": video.format,
        "content_type": CONTENT_TYPES.get(video.format, "application/octet-stream"),
        "bytes": output.stat().st_size,
        "duration": round(video.duration, 4),
        "audio_duration": video.audio_duration,
        "width": video.width,
        "height": video.height,
        "fps": video.fps,
        "n_frames": video.n_frames,
        "words": len(result.utterance.words),
        "timings": {stage: round(seconds, 4) for stage, seconds in result.timings.items()},
        "lipsync": result.lipsync,
        "notes": list(result.notes),
    }


def save_timeline(utterance: Utterance, path: Path) -> None:
    data = {
        "text": utterance.text,
        "sample_rate": utterance.sample_rate,
        "n_samples": len(utterance.audio),
        "phones": [[p.symbol, p.start, p.end, p.stressed] for p in utterance.phones],
        "words": [[w.text, w.start, w.end] for w in utterance.words],
        "pauses": list(utterance.pauses),
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def load_timeline(path: Path) -> Utterance:
    """The utterance back, with silent audio of the right length: exporters need its timing
    and duration, never its sound."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return Utterance(
        audio=np.zeros(data["n_samples"], np.float32),
        sample_rate=data["sample_rate"],
        phones=tuple(
            Phone(s, start, end, bool(stressed)) for s, start, end, stressed in data["phones"]
        ),
        words=tuple(Word(text, start, end) for text, start, end in data["words"]),
        text=data["text"],
        pauses=tuple(data["pauses"]),
    )


def export_content(folder: Path, kind: str) -> bytes:
    """A finished job's subtitles or viseme track, made now from its saved timeline."""
    return render_export(load_timeline(folder / TIMELINE), EXPORTS[kind].format).encode("utf-8")
