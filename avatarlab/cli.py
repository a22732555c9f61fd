"""The ``avatarlab`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import AvatarLabError, InputError
from .options import Options, option_specs

EPILOG = """examples:
  avatarlab say "Hello, I'm your new tutor."
  avatarlab say -a me.jpg -o intro.mp4 --text-file script.txt --speed 1.1 --size 720
  avatarlab voices
  avatarlab inspect talk.mp4 --text "the words spoken"
  avatarlab bench
"""


def _add_options(parser: argparse.ArgumentParser) -> None:
    """One flag per field of ``Options``: names, defaults and help come from there."""
    group = parser.add_argument_group("rendering options")
    for name, kind, default, meta in option_specs():
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
    return Options().updated(**{name: getattr(args, name) for name, *_ in option_specs()})


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
    say.add_argument(
        "-a",
        "--avatar",
        metavar="IMAGE",
        help="portrait photo (jpg, png, webp...); default: the bundled astronaut",
    )
    say.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="video file to write (default: avatarlab-<date>-<time>.mp4 here)",
    )
    say.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_options(say)

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
        help="the portrait the video was made from: adds background figures",
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
        description="Time each stage and report throughput ratios.",
    )
    bench.add_argument(
        "--seconds", type=float, default=10.0, help="length of speech to render (default: 10)"
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def _script(args: argparse.Namespace) -> str:
    if args.text and args.text_file:
        raise InputError("give the text either as an argument or with --text-file, not both")
    if args.text_file:
        try:
            return args.text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read the text file {args.text_file}: {error}") from None
    if args.text is None:
        raise InputError('nothing to say: give a text, e.g. avatarlab say "Hello there"')
    return args.text


def _run_say(args: argparse.Namespace) -> int:
    from .pipeline import say

    text = _script(args)
    options = _options_from(args)
    with _ProgressBar(disabled=args.quiet) as bar:
        result = say(text, args.avatar, output=args.output, options=options, progress=bar.update)
    for note in result.avatar.notes:
        print(f"note: {note}", file=sys.stderr)
    video = result.video
    spent = sum(result.timings.values())
    print(
        f"wrote {Path(video.path).resolve()} ({video.duration:.1f} s, "
        f"{video.width}×{video.height}, "
        f"{video.fps:g} fps) in {spent:.1f} s"
    )
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
    print(f"wrote {png.resolve()} and {js.resolve()}")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from .bench import run_benchmark

    return run_benchmark(seconds=args.seconds, as_json=args.json)


class _ProgressBar:
    """A tqdm bar per stage, fed by the pipeline's progress callback."""

    def __init__(self, disabled: bool):
        self.disabled = disabled or not sys.stderr.isatty()
        self.bar = None

    def update(self, stage: str, done: int, total: int) -> None:
        if self.disabled:
            return
        from tqdm import tqdm

        if self.bar is None or self.bar.desc != stage:
            self.close()
            self.bar = tqdm(total=total, desc=stage, unit="frame", leave=False)
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
