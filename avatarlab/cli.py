"""The ``avatarlab`` command."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import AvatarLabError, InputError
from .files import write_text_atomic
from .options import FITS, SUBTITLE_FORMATS, VISEME_FORMATS, Options, option_specs

EPILOG = """examples:
  avatarlab say "Hello, I'm your new tutor."
  avatarlab say -a me.jpg -o intro.mp4 --text-file script.txt --speed 1.1 --size 720
  avatarlab say "Hello there" --subtitles srt --visemes json
  avatarlab animate --audio voiceover.mp3 -a me.jpg -o talk.mp4
  avatarlab say "Welcome to week two." -a me.mp4 -o week2.mp4
  avatarlab dub interview.mp4 --audio new_line.wav -o dubbed.mp4
  avatarlab dub interview.mp4 --text "What I meant to say."
  avatarlab visemes --audio line.wav --format rhubarb-tsv > line.tsv
  avatarlab serve --port 8000
  avatarlab voices
  avatarlab inspect talk.mp4 --text "the words spoken"
  avatarlab bench
"""


def _add_options(
    parser: argparse.ArgumentParser,
    speech: str | tuple[str, ...],
    *,
    video: bool = True,
    skip: tuple[str, ...] = (),
) -> None:
    """One flag per field of ``Options``: names, defaults and help come from there.
    ``speech``: "text" or "recorded" (or both), whose settings to offer; ``video``: also
    the rendering ones (those that apply to either kind of speech); ``skip``: options the
    command sets itself."""
    group = parser.add_argument_group("rendering options" if video else "options")
    kinds = (speech,) if isinstance(speech, str) else speech
    for name, kind, default, meta in option_specs():
        applies = meta.get("speech")
        if (applies is not None and applies not in kinds) or (applies is None and not video):
            continue
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        help_text = meta["help"].replace("%", "%%")
        if kind is bool:
            group.add_argument(flag, action="store_true", default=None, help=help_text)
            continue
        shown = "" if default is None else f" (default: {default})"
        group.add_argument(
            flag,
            type=kind,
            default=None,
            choices=meta.get("choices"),
            metavar=name.upper(),
            help=help_text + shown,
        )


def _options_from(args: argparse.Namespace) -> Options:
    given = {name: getattr(args, name, None) for name, *_ in option_specs()}
    return Options().updated(**given)


def _add_avatar_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a",
        "--avatar",
        metavar="FILE",
        help="portrait photo (jpg, png, webp...) or a video of the face talking (mp4, mov, "
        "webm, mkv: its own mouths are used); default: the bundled astronaut",
    )


def _add_video_args(parser: argparse.ArgumentParser, avatar: bool = True) -> None:
    """What ``say``, ``animate`` and ``dub`` share: the face (not for ``dub``, whose video
    is the face), where the video goes, its sidecars."""
    if avatar:
        _add_avatar_arg(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="video file to write (default: avatarlab-<date>-<time>.mp4 here)",
    )
    parser.add_argument(
        "--subtitles",
        action="append",
        choices=SUBTITLE_FORMATS,
        default=[],
        help="also write subtitles next to the video (repeat for both)",
    )
    parser.add_argument(
        "--visemes",
        action="append",
        choices=VISEME_FORMATS,
        default=[],
        help="also write the viseme track next to the video (repeat for both)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_recording_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--audio",
        type=Path,
        required=required,
        metavar="FILE",
        help="the speech: wav, mp3, m4a, ogg, flac, or a video's sound",
    )
    parser.add_argument("--text", help="the exact words spoken, for the best timing")
    parser.add_argument(
        "--text-file", type=Path, metavar="FILE", help="read the words spoken from a UTF-8 file"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatarlab",
        description="Talking-head videos from a portrait and a script, fast on a plain CPU.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    say = commands.add_parser(
        "say",
        help="render a portrait saying a text",
        description="Render a portrait saying TEXT, with a neural voice.",
    )
    say.add_argument("text", nargs="?", help="what to say (or use --text-file)")
    say.add_argument(
        "--text-file", type=Path, metavar="FILE", help="read the script from a UTF-8 file"
    )
    _add_video_args(say)
    _add_options(say, "text")

    animate = commands.add_parser(
        "animate",
        help="render a portrait speaking a recording",
        description="Lip-sync a portrait to recorded speech. With --text the words are "
        "aligned to the audio; without, the phones are recognized (US English); speech the "
        "recognizer cannot follow moves the mouth by its loudness (any language).",
    )
    _add_recording_args(animate)
    _add_video_args(animate)
    _add_options(animate, "recorded")

    dub = commands.add_parser(
        "dub",
        help="make the person in a video say new speech",
        description="Re-sync the lips of VIDEO to new speech: a recording (--audio, with "
        "--text its words if you have them) or words alone (--text) in the voice. The "
        "video keeps its frame, rate and length; its sound is replaced.",
    )
    dub.add_argument("video", type=Path, help="the video to dub (mp4, mov, webm, mkv)")
    _add_recording_args(dub, required=False)
    dub.add_argument(
        "--fit",
        choices=FITS,
        default="pad",
        help="speech shorter than the video is followed by silence; longer speech is "
        "refused (pad), cut at the video's end (cut), or the video plays on back and forth "
        "(loop) (default: pad)",
    )
    _add_video_args(dub, avatar=False)
    _add_options(dub, ("text", "recorded"), skip=("size", "full_frame", "fps"))

    visemes = commands.add_parser(
        "visemes",
        help="the viseme track of a recording, without a video",
        description="Find the mouth shapes of recorded speech and print them (or write "
        "FILE): for driving a 2D or 3D character in your own engine.",
    )
    _add_recording_args(visemes)
    visemes.add_argument(
        "--format",
        dest="export",
        metavar="FORMAT",
        choices=VISEME_FORMATS + SUBTITLE_FORMATS,
        default="json",
        help="json (time, viseme, weight), rhubarb-tsv (Rhubarb Lip Sync's A-H/X), "
        "or subtitles: srt, vtt (need --text) (default: json)",
    )
    visemes.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here instead of printing"
    )
    _add_options(visemes, "recorded", video=False)

    serve = commands.add_parser(
        "serve",
        help="serve the web page and the HTTP API",
        description="Run the web app (http://HOST:PORT/), the JSON API (/v1, documented at "
        "/docs) and the render workers in one process. Jobs and uploads are kept in the data "
        "folder and survive restarts.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="where jobs, uploads and videos are kept (default: $AVATARLAB_DATA or "
        "~/.local/share/avatarlab)",
    )
    serve.add_argument("--workers", type=int, help="renders at once (default: one per CPU core)")
    serve.add_argument(
        "--max-queued", type=int, help="jobs allowed to wait for a worker (default: 32)"
    )
    serve.add_argument(
        "--max-audio-seconds", type=float, help="longest uploaded recording (default: 300)"
    )
    serve.add_argument(
        "--max-upload-mb", type=float, help="largest upload, image or audio (default: 20)"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="server log detail (default: %(default)s)",
    )

    commands.add_parser(
        "voices",
        help="list the voices available",
        description="List the bundled voice and voices found in $AVATARLAB_VOICES.",
    )

    inspect = commands.add_parser(
        "inspect",
        help="measure the lip-sync, blinks and head motion of any talking-head video",
        description="Track the face through VIDEO, find the phones in its audio (forced "
        "alignment with --text, else recognition), and report how well they agree: "
        "VIDEO.report.png and VIDEO.report.json next to the video.",
    )
    inspect.add_argument("video", type=Path, help="MP4, WebM or MOV file")
    inspect.add_argument("--text", help="the words spoken, for exact phone timing")
    inspect.add_argument(
        "--source",
        type=Path,
        metavar="IMAGE",
        help="the portrait the video was made from: adds the background's PSNR and the "
        "lower-face artifact figures (new edges, changed skin, lip-coloured skin)",
    )
    inspect.add_argument(
        "--json", action="store_true", help="print the figures as JSON on stdout and write no files"
    )
    inspect.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="PREFIX",
        help="write PREFIX.png and PREFIX.json (default: VIDEO.report)",
    )

    bench = commands.add_parser(
        "bench",
        help="measure speed and memory on this machine",
        description="Time each stage and report throughput ratios; text → MP4 end to end "
        "is the median of three runs, printed with the slowest and fastest.",
    )
    bench.add_argument(
        "--seconds", type=float, default=10.0, help="length of speech to render (default: 10)"
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument(
        "--clip",
        type=Path,
        metavar="VIDEO",
        help="clip for the video-avatar row (default: a clip of the bundled portrait "
        "this run renders)",
    )
    return parser


def _text(args: argparse.Namespace) -> str | None:
    """The text from the argument or from --text-file (not both), None if neither."""
    if args.text and args.text_file:
        raise InputError("give the text either as an argument or with --text-file, not both")
    if args.text_file:
        try:
            return args.text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read the text file {args.text_file}: {error}") from None
    return args.text


def _script(args: argparse.Namespace) -> str:
    text = _text(args)
    if text is None:
        raise InputError('nothing to say: give a text, e.g. avatarlab say "Hello there"')
    return text


def _run_say(args: argparse.Namespace) -> int:
    from .pipeline import say

    text = _script(args)
    options = _options_from(args)
    _check_sidecars(args, has_words=True)
    with _ProgressBar(disabled=args.quiet) as bar:
        result = say(text, args.avatar, output=args.output, options=options, progress=bar.update)
    return _report_video(result, args, bar.elapsed)


def _run_animate(args: argparse.Namespace) -> int:
    from .pipeline import animate

    text = _text(args)
    options = _options_from(args)
    _check_sidecars(args, has_words=bool(text and text.strip()))
    with _ProgressBar(disabled=args.quiet) as bar:
        result = animate(
            args.audio,
            args.avatar,
            text=text,
            output=args.output,
            options=options,
            progress=bar.update,
        )
    return _report_video(result, args, bar.elapsed)


def _check_sidecars(args: argparse.Namespace, has_words: bool) -> None:
    """Refuse before rendering what cannot be written after it."""
    if (args.subtitles or args.captions) and not has_words:
        raise InputError("subtitles and captions need the words: give --text or --text-file")


def _report_video(result, args: argparse.Namespace, spent: float) -> int:
    from .exports import write_sidecars

    sidecars = write_sidecars(
        result.video_path, result.utterance, subtitles=args.subtitles, visemes=args.visemes
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    video = result.video
    how = "" if result.lipsync == "voice" else f", lip-sync by {result.lipsync}"
    print(
        f"wrote {Path(video.path).resolve()} ({video.duration:.1f} s, "
        f"{video.width}×{video.height}, {video.fps:g} fps{how}) in {spent:.1f} s"
    )
    for path in sidecars:
        print(f"wrote {Path(path).resolve()}")
    return 0


def _run_dub(args: argparse.Namespace) -> int:
    from .pipeline import dub

    text = _text(args)
    if args.audio is None and not (text and text.strip()):
        raise InputError(
            "nothing to say: give the new speech with --audio, or the words with --text"
        )
    options = _options_from(args)
    _check_sidecars(args, has_words=bool(text and text.strip()))
    with _ProgressBar(disabled=args.quiet) as bar:
        result = dub(
            args.video,
            args.audio,
            text=text,
            output=args.output,
            fit=args.fit,
            options=options,
            progress=bar.update,
        )
    return _report_video(result, args, bar.elapsed)


def _run_visemes(args: argparse.Namespace) -> int:
    from .align import recognize
    from .exports import render_export
    from .pipeline import load_recording

    text = _text(args)
    options = _options_from(args)
    if args.export in SUBTITLE_FORMATS and not (text and text.strip()):
        raise InputError("subtitles need the words: give --text or --text-file")
    samples, rate = load_recording(args.audio, None, options.max_audio_seconds)
    alignment = recognize(samples, rate, text, method=options.lipsync)
    content = render_export(alignment.utterance, args.export)
    for note in alignment.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"lip-sync by {alignment.method}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(content)
        return 0
    write_text_atomic(args.output, content)
    print(f"wrote {args.output.resolve()}", file=sys.stderr)
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .server import ServerSettings, serve

    overrides = {
        "data_dir": args.data,
        "workers": args.workers,
        "max_queued_jobs": args.max_queued,
        "max_audio_seconds": args.max_audio_seconds,
        "max_upload_mb": args.max_upload_mb,
    }
    settings = replace(ServerSettings(), **{k: v for k, v in overrides.items() if v is not None})
    print(f"AvatarLab on http://{args.host}:{args.port}/  (API docs at /docs; Ctrl+C stops)")
    serve(args.host, args.port, settings, log_level=args.log_level)
    return 0


def _run_voices(_: argparse.Namespace) -> int:
    from .speech import list_voices

    for voice in list_voices():
        print(f"{voice.name:<24} {voice.language:<8} {voice.sample_rate} Hz  {voice.path}")
    return 0


def _run_inspect(args: argparse.Namespace) -> int:
    from .inspect import inspect_video, to_json, write_report

    inspection = inspect_video(args.video, text=args.text, source=args.source)
    if args.json:
        print(to_json(inspection))
        return 0
    prefix = args.output or args.video.with_suffix(".report")
    png, js = prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".json")
    write_report(inspection, png, js)
    figures = inspection.figures
    print(
        f"p/b/m closed {figures['bilabial_closure_rate']:.0%} of {figures['bilabials']}, "
        f"open/closed {figures['open_closed_ratio']:.1f}×, mouth lag {figures['lag_ms']:.0f} ms, "
        f"{figures['blinks_per_minute']:.0f} blinks/min (phones: {figures['phones_from']})"
    )
    if "skin_change" in figures:
        print(
            f"against the source: background {figures['background_psnr_db']:.1f} dB, "
            f"new edges {figures['new_edges']:.1%}, changed skin {figures['skin_change']:.1%}, "
            f"lip-coloured skin {figures['lip_like_share']:.1%} of the lower face"
        )
    if figures["edge_repeat"]:
        print(f"{figures['edge_repeat']} border rows/columns repeat their neighbour (streaks)")
    print(f"wrote {png.resolve()} and {js.resolve()}")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from .bench import run_benchmark

    return run_benchmark(seconds=args.seconds, as_json=args.json, clip=args.clip)


class _ProgressBar:
    """A tqdm bar per stage, fed by the pipeline's progress callback."""

    def __init__(self, disabled: bool):
        self.disabled = disabled or not sys.stderr.isatty()
        self.bar = None
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since the bar was made: the stages overlap, so their times do not add up."""
        return time.perf_counter() - self.started

    def update(self, stage: str, done: int, total: int) -> None:
        if self.disabled:
            return
        from tqdm import tqdm

        if self.bar is None or self.bar.desc != stage:
            self.close()
            self.bar = tqdm(total=total, desc=stage, unit="frame", leave=False)
        if total != self.bar.total:  # a script's frames are estimated while it is spoken
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    runners = {
        "say": _run_say,
        "animate": _run_animate,
        "dub": _run_dub,
        "visemes": _run_visemes,
        "serve": _run_serve,
        "voices": _run_voices,
        "inspect": _run_inspect,
        "bench": _run_bench,
    }
    try:
        return runners[args.command](args)
    except AvatarLabError as error:
        print(f"avatarlab: error: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("avatarlab: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
