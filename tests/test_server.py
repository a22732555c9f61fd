"""The HTTP API against the real app: real uploads, real renders, real files on disk.

One shared app (workers=1) renders the few short videos, one of them from an uploaded
recording; apps with ``workers=0`` test what must happen before a worker runs (validation,
uploads, queue limits, restarts) without rendering.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import srt
import webvtt
from audio_files import write_audio
from skimage import data

from avatarlab import say
from avatarlab.measure import CLOSED_GAP, lipsync_figures
from avatarlab.server import ServerSettings, create_app, tasks
from avatarlab.server.events import Broadcaster
from avatarlab.server.jobs import FAILED, QUEUED, JobStore
from avatarlab.server.workers import WorkerPool
from avatarlab.speech import synthesize
from avatarlab.types import Phone
from avatarlab.video import probe, write_video

with warnings.catch_warnings():  # Starlette asks for httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SHORT_TEXT = "Hello there, friend."
RECORDED_TEXT = "Peter may pay for the pump, maybe."
TIMEOUT = 60.0
IDLE_MAX_AUDIO_SECONDS = 2.0
RHUBARB_LINE = re.compile(r"^\d+\.\d{2}\t[A-HX]$")


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return encoded.tobytes()


def gradient_png() -> bytes:
    """A smooth 256×256 colour ramp: a valid image with no face in it."""
    ramp = np.linspace(0, 255, 256, dtype=np.uint8)
    image = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], ramp[::-1, None]), -1)
    return png_bytes(np.ascontiguousarray(image))


def client_for(tmp_path: Path, **settings) -> TestClient:
    values = {"data_dir": tmp_path, "workers": 0, "api_key": None, **settings}
    return TestClient(create_app(ServerSettings(**values)))


def wait_until_finished(client: TestClient, video_id: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        job = client.get(f"/v1/videos/{video_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"video {video_id} did not finish in {TIMEOUT} s")


def read_events(lines: Iterator[str]) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def wav_bytes(tmp_path: Path, samples: np.ndarray, rate: int) -> bytes:
    return write_audio(tmp_path / "speech.wav", samples, rate).read_bytes()


def shifted(phones: tuple[Phone, ...], seconds: float) -> list[Phone]:
    return [replace(p, start=p.start + seconds, end=p.end + seconds) for p in phones]


def plain_words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def upload_audio(client: TestClient, name: str, content: bytes):
    return client.post("/v1/audio", files={"file": (name, content, "audio/wav")})


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("server")
    with client_for(data_dir, workers=1) as client:
        yield client


@pytest.fixture(scope="module")
def idle(tmp_path_factory) -> Iterator[TestClient]:
    """An app without workers: jobs are accepted and stay queued. Short recordings only."""
    data_dir = tmp_path_factory.mktemp("idle")
    with client_for(data_dir, max_audio_seconds=IDLE_MAX_AUDIO_SECONDS) as client:
        yield client


@pytest.fixture(scope="module")
def uploaded(server) -> dict:
    response = server.post(
        "/v1/avatars", files={"file": ("astronaut.png", png_bytes(data.astronaut()), "image/png")}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def finished(server, uploaded) -> dict:
    response = server.post("/v1/videos", json={"text": SHORT_TEXT, "avatar_id": uploaded["id"]})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    job = wait_until_finished(server, response.json()["id"])
    assert job["status"] == "done", job
    return job


@pytest.fixture(scope="module")
def spoken():
    """Speech full of p/b/m whose true phone timings are known: the voice's own."""
    return synthesize(RECORDED_TEXT, None)


@pytest.fixture(scope="module")
def recorded(server, spoken, tmp_path_factory) -> dict:
    """A video of the bundled avatar lip-syncing ``spoken``, uploaded as a WAV with its
    transcript."""
    wav = wav_bytes(tmp_path_factory.mktemp("recorded"), spoken.audio, spoken.sample_rate)
    upload = upload_audio(server, "peter.wav", wav)
    assert upload.status_code == 201, upload.text
    assert upload.json()["duration"] == pytest.approx(spoken.duration, abs=0.01)
    assert upload.json()["name"] == "peter.wav"
    body = {"audio_id": upload.json()["id"], "text": RECORDED_TEXT}
    response = server.post("/v1/videos", json=body)
    assert response.status_code == 202, response.text
    job = wait_until_finished(server, response.json()["id"])
    assert job["status"] == "done", job
    return job


def test_upload_finds_the_face_once_and_lists_it(server, uploaded, tmp_path):
    box = uploaded["face_box"]
    assert uploaded["faces_found"] == 1
    assert 0 < box["x"] < box["x"] + box["width"] <= uploaded["width"]
    assert 0 < box["y"] < box["y"] + box["height"] <= uploaded["height"]
    avatars = server.get("/v1/avatars").json()["avatars"]
    assert avatars[0]["id"] == "astronaut" and avatars[0]["bundled"]
    assert uploaded["id"] in [a["id"] for a in avatars]
    thumb = server.get(uploaded["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    again = server.post(
        "/v1/avatars", files={"file": ("again.png", png_bytes(data.astronaut()), "image/png")}
    )
    assert again.json()["id"] == uploaded["id"]  # same bytes: the cached record


def test_video_renders_and_downloads_as_h264(server, finished, tmp_path):
    result = finished["result"]
    response = server.get(finished["urls"]["video"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    path = tmp_path / "video.mp4"
    path.write_bytes(response.content)
    info = probe(path)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - result["audio_duration"]) <= 1.5 / result["fps"]
    assert abs(info.duration - result["duration"]) <= 1 / result["fps"]
    assert (info.width, info.height) == (512, 512)


def test_range_request_returns_the_requested_bytes(server, finished):
    whole = server.get(finished["urls"]["video"]).content
    part = server.get(finished["urls"]["video"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]


def test_events_stream_progress_then_done(server):
    created = server.post("/v1/videos", json={"text": "Nice to meet you."}).json()
    with server.stream("GET", f"/v1/videos/{created['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = read_events(stream.iter_lines())
    names = [name for name, _ in events]
    assert names[0] == "progress" and names[-1] == "done"
    assert set(names[:-1]) == {"progress"}
    progress = [event["progress"] for name, event in events if name == "progress"]
    assert progress == sorted(progress) and all(0 <= p <= 1 for p in progress)
    assert events[-1][1]["result"]["duration"] > 0


def test_list_is_newest_first_and_delete_removes_files(server, uploaded):
    created = server.post(
        "/v1/videos", json={"text": "Goodbye.", "avatar_id": uploaded["id"]}
    ).json()
    job = wait_until_finished(server, created["id"])
    listed = server.get("/v1/videos").json()["videos"]
    assert listed[0]["id"] == job["id"]
    assert [v["created"] for v in listed] == sorted((v["created"] for v in listed), reverse=True)
    folder = Path(server.app.state.settings.data_dir) / "videos" / job["id"]
    assert folder.is_dir()
    assert server.delete(f"/v1/videos/{job['id']}").status_code == 204
    assert not folder.exists()
    assert_error(server.get(f"/v1/videos/{job['id']}"), 404, "video_not_found")
    assert_error(server.delete(f"/v1/videos/{job['id']}"), 404, "video_not_found")


def test_recording_is_aligned_to_its_transcript_and_the_lips_close(
    server, recorded, spoken, tmp_path
):
    result = recorded["result"]
    assert result["lipsync"] == "alignment", result
    assert result["words"] == len(RECORDED_TEXT.split())
    assert recorded["audio_id"] and recorded["text"] == RECORDED_TEXT
    path = tmp_path / "recorded.mp4"
    path.write_bytes(server.get(recorded["urls"]["video"]).content)
    info = probe(path)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert abs(info.duration - spoken.duration) <= 1.5 / result["fps"]
    assert abs(info.audio_duration - spoken.duration) <= 1.5 / result["fps"]
    # Judged at the voice's own phones, the truth the aligner had to find again. The aligner
    # puts a stop's silent closure a little earlier than the voice does (see test_align), so
    # each p/b/m must show shut lips on its middle frame or one frame either side.
    frame = 1 / result["fps"]
    figures = {
        shift: lipsync_figures(path, shifted(spoken.phones, shift * frame), result["fps"])
        for shift in (-1, 0, 1)
    }
    nearest = np.min([figures[shift].bilabial_gaps for shift in figures], axis=0)
    assert len(nearest) >= 6 and nearest.max() < CLOSED_GAP, nearest
    # Most of them on one and the same offset (the aligner's lead is steady, not noise),
    # and at that offset the vowels are well open.
    best = max(figures.values(), key=lambda f: f.closure_rate)
    assert best.closure_rate >= 0.75 and best.open_closed_ratio > 2.0, figures


def test_recording_exports_parse(server, recorded, spoken):
    urls = recorded["urls"]
    subtitles = server.get(urls["srt"])
    assert subtitles.headers["content-type"].startswith("application/x-subrip")
    cues = list(srt.parse(subtitles.text))
    assert plain_words(" ".join(cue.content for cue in cues)) == plain_words(RECORDED_TEXT)
    assert 0 <= cues[0].start.total_seconds() < cues[-1].end.total_seconds()
    assert cues[-1].end.total_seconds() <= spoken.duration + 0.05
    vtt = server.get(urls["vtt"])
    assert vtt.headers["content-type"].startswith("text/vtt")
    captions = webvtt.from_string(vtt.text).captions
    assert plain_words(" ".join(c.text for c in captions)) == plain_words(RECORDED_TEXT)
    assert captions[0].start_in_seconds == pytest.approx(cues[0].start.total_seconds(), abs=1e-3)
    visemes = server.get(urls["visemes"])
    assert visemes.headers["content-type"] == "application/json"
    track = visemes.json()
    assert track["duration"] == pytest.approx(spoken.duration, abs=0.01)
    assert {cue["viseme"] for cue in track["cues"]} <= set(track["visemes"])
    assert "PP" in {cue["viseme"] for cue in track["cues"]}
    rhubarb = server.get(urls["rhubarb"])
    assert rhubarb.headers["content-type"].startswith("text/tab-separated-values")
    assert 'filename="avatarlab-' in rhubarb.headers["content-disposition"]
    assert rhubarb.headers["content-disposition"].endswith('.visemes.tsv"')
    lines = rhubarb.text.splitlines()
    assert len(lines) > 5 and all(RHUBARB_LINE.match(line) for line in lines), lines
    times = [float(line.split("\t")[0]) for line in lines]
    assert times == sorted(times) and times[-1] <= spoken.duration + 0.01
    assert "A" in {line[-1] for line in lines}  # Rhubarb's shut mouth, for p/b/m


def test_recording_without_words_has_visemes_but_no_subtitles(server, recorded):
    body = {"audio_id": recorded["audio_id"], "lipsync": "energy"}
    job = wait_until_finished(server, server.post("/v1/videos", json=body).json()["id"])
    assert job["status"] == "done", job
    assert job["text"] is None and job["options"]["lipsync"] == "energy"
    assert (job["result"]["lipsync"], job["result"]["words"]) == ("energy", 0)
    error = assert_error(server.get(job["urls"]["srt"]), 422, "bad_input")
    assert "no words" in error["message"]
    assert server.get(job["urls"]["rhubarb"]).status_code == 200


def test_audio_uploads_are_checked_whole(idle, tmp_path):
    assert_error(upload_audio(idle, "a.wav", b"RIFF0000WAVE"), 422, "bad_audio")
    assert_error(upload_audio(idle, "empty.wav", b""), 422, "bad_audio")
    rate = 16_000
    silent = assert_error(
        upload_audio(idle, "quiet.wav", wav_bytes(tmp_path, np.zeros(rate), rate)), 422, "bad_audio"
    )
    assert "quiet.wav" in silent["message"] and "silent" in silent["message"]
    seconds = IDLE_MAX_AUDIO_SECONDS + 1
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * rate)) / rate)
    long = upload_audio(idle, "long.wav", wav_bytes(tmp_path, tone, rate))
    error = assert_error(long, 422, "audio_too_long")
    assert "long.wav is 3 s long; the limit is 2 s" in error["message"]
    assert_error(idle.post("/v1/videos", json={"audio_id": "f" * 24}), 404, "audio_not_found")


def test_bad_images_are_refused_with_codes(server):
    def upload(name: str, content: bytes):
        return server.post("/v1/avatars", files={"file": (name, content, "image/png")})

    assert_error(upload("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 500), 422, "bad_image")
    assert_error(upload("notes.png", b"just some text, not pixels"), 422, "bad_image")
    assert_error(upload("empty.png", b""), 422, "bad_image")
    error = assert_error(upload("ramp.png", gradient_png()), 422, "no_face")
    assert "ramp.png" in error["message"]
    assert_error(server.post("/v1/avatars", data={"nofile": "x"}), 422, "invalid_request")


def test_oversized_uploads_get_413(tmp_path):
    big = np.random.default_rng(0).integers(0, 255, 300_000, dtype=np.uint8).tobytes()
    with client_for(tmp_path, max_upload_mb=0.1) as client:
        response = client.post("/v1/avatars", files={"file": ("big.png", big, "image/png")})
        assert_error(response, 413, "too_large")
        chunked = client.post(
            "/v1/avatars",
            content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert_error(chunked, 413, "too_large")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": "x" * 5001}, 422, "text_too_long"),
        ({"text": "   "}, 422, "empty_text"),
        ({}, 422, "empty_text"),
        ({"text": 123}, 422, "invalid_request"),
        ({"text": "hi", "speed": "fast"}, 422, "invalid_request"),
        ({"text": "hi", "speed": 9}, 422, "invalid_request"),
        ({"text": "hi", "size": 511}, 422, "bad_input"),
        ({"text": "hi", "size": "big"}, 422, "invalid_request"),
        ({"text": "hi", "format": "avi"}, 422, "invalid_request"),
        ({"text": "hi", "colour": "blue"}, 422, "invalid_request"),
        ({"text": "hi", "voice": "/etc/passwd"}, 422, "bad_voice"),
        ({"text": "hi", "lipsync": "guess"}, 422, "invalid_request"),
        ({"text": "hi", "max_audio_seconds": 9999}, 422, "invalid_request"),
        ({"text": "hi", "avatar_id": "nobody"}, 404, "avatar_not_found"),
        ({"text": "hi", "avatar_id": "../../etc"}, 404, "avatar_not_found"),
    ],
)
def test_bad_video_requests(idle, body, status, code):
    assert_error(idle.post("/v1/videos", json=body), status, code)


def test_unknown_and_unfinished_videos(idle):
    assert_error(idle.get("/v1/videos/nope"), 404, "video_not_found")
    assert_error(idle.get("/v1/videos/nope/file"), 404, "video_not_found")
    assert_error(idle.get("/v1/avatars/nope/thumbnail"), 404, "avatar_not_found")
    queued = idle.post("/v1/videos", json={"text": "Not yet."}).json()
    assert_error(idle.get(f"/v1/videos/{queued['id']}/file"), 409, "not_ready")
    assert_error(idle.get("/v1/nothing-here"), 404, "not_found")


def test_queue_full_gets_429(tmp_path):
    with client_for(tmp_path, max_queued_jobs=2) as client:
        for _ in range(2):
            assert client.post("/v1/videos", json={"text": "One more."}).status_code == 202
        response = client.post("/v1/videos", json={"text": "Too many."})
        assert_error(response, 429, "queue_full")
        assert response.headers["retry-after"]


def test_api_key_guards_the_api_but_not_the_page(tmp_path):
    with client_for(tmp_path, api_key="s3cret") as client:
        assert_error(client.get("/v1/voices"), 401, "unauthorized")
        assert_error(client.get("/v1/voices", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
        assert_error(client.post("/v1/videos", json={"text": "hi"}), 401, "unauthorized")
        assert client.get("/v1/voices", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/v1/avatars/astronaut/thumbnail?api_key=s3cret").status_code == 200
        for open_path in ("/healthz", "/", "/static/app.js", "/docs"):
            assert client.get(open_path).status_code == 200, open_path


def test_queued_jobs_survive_a_restart(tmp_path):
    with client_for(tmp_path) as client:
        created = client.post("/v1/videos", json={"text": "Still here."}).json()
    with client_for(tmp_path, workers=1) as client:
        job = wait_until_finished(client, created["id"])
    assert job["status"] == "done"


def test_running_jobs_are_marked_failed_after_a_crash(tmp_path):
    with client_for(tmp_path) as client:
        created = client.post("/v1/videos", json={"text": "Cut off."}).json()
    store = JobStore(tmp_path / "jobs.sqlite3")
    assert store.claim_next().id == created["id"]  # a worker took it, then the process died
    store.close()
    with client_for(tmp_path) as client:
        job = client.get(f"/v1/videos/{created['id']}").json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "interrupted"
    assert "interrupted by a restart" in job["error"]["message"]


def _endless_render(started: threading.Event):
    def run(job, report):
        started.set()
        for frame in range(100_000):
            report("render", frame, 100_000)
            time.sleep(0.01)
        return {}

    return run


def test_shutdown_puts_the_running_job_back_in_the_queue(tmp_path):
    store, started, discarded = JobStore(tmp_path / "jobs.sqlite3"), threading.Event(), []
    job = store.create({"text": "long", "avatar_id": "astronaut", "options": {}}, 5)
    pool = WorkerPool(store, Broadcaster(), _endless_render(started), discarded.append, 1)
    pool.start()
    assert started.wait(10)
    assert pool.stop(timeout=10) == []
    assert store.get(job.id).status == QUEUED and discarded == [job.id]
    store.close()


def test_deleting_a_running_job_stops_it(tmp_path):
    store, started, discarded = JobStore(tmp_path / "jobs.sqlite3"), threading.Event(), []
    job = store.create({"text": "long", "avatar_id": "astronaut", "options": {}}, 5)
    pool = WorkerPool(store, Broadcaster(), _endless_render(started), discarded.append, 1)
    pool.start()
    assert started.wait(10)
    store.delete(job.id)
    pool.cancel(job.id)
    deadline = time.monotonic() + 10
    while not discarded and time.monotonic() < deadline:
        time.sleep(0.02)
    assert discarded == [job.id] and store.get(job.id) is None
    pool.stop()
    store.close()


def test_failed_render_reports_the_reason(tmp_path):
    store, events = JobStore(tmp_path / "jobs.sqlite3"), Broadcaster()

    def broken(job, report):
        raise RuntimeError("boom")

    job = store.create({"text": "x", "avatar_id": "astronaut", "options": {}}, 5)
    pool = WorkerPool(store, events, broken, lambda _: None, 1)
    pool.start()
    deadline = time.monotonic() + 10
    while store.get(job.id).status != FAILED and time.monotonic() < deadline:
        time.sleep(0.02)
    pool.stop()
    error = store.get(job.id).error
    assert error["code"] == "internal" and "boom" in error["message"]
    store.close()


def test_config_voices_health_and_docs(server):
    config = server.get("/v1/config").json()
    speed = next(o for o in config["options"] if o["name"] == "speed")
    assert (speed["low"], speed["high"], speed["default"]) == (0.5, 2.0, 1.0)
    schema = server.get("/openapi.json").json()["components"]["schemas"]["VideoRequest"]
    assert schema["properties"]["speed"]["maximum"] == 2.0
    assert schema["properties"]["size"]["minimum"] == 128
    assert schema["properties"]["lipsync"]["enum"] == ["auto", "phones", "energy"]
    assert "max_audio_seconds" not in schema["properties"]  # the server's own setting
    assert "max_audio_seconds" not in [o["name"] for o in config["options"]]
    assert config["max_audio_seconds"] == 300 and "features" not in config
    voices = server.get("/v1/voices").json()["voices"]
    assert voices and voices[0]["bundled"] and "path" not in voices[0]
    assert server.get("/healthz").json()["status"] == "ok"
    page = server.get("/")
    assert page.status_code == 200 and "<textarea" in page.text
    assert "openapi.json" in server.get("/docs").text


def test_one_server_per_data_folder(idle):
    second = client_for(Path(idle.app.state.settings.data_dir))
    with pytest.raises(Exception, match="another AvatarLab server is using"):
        with second:
            pass


def test_webm_has_its_content_type_and_finished_streams_end_at_once(server):
    created = server.post("/v1/videos", json={"text": "Short.", "format": "webm"}).json()
    job = wait_until_finished(server, created["id"])
    response = server.get(job["urls"]["video"])
    assert response.headers["content-type"] == "video/webm"
    with server.stream("GET", job["urls"]["events"]) as stream:
        events = read_events(stream.iter_lines())
    assert [name for name, _ in events] == ["done"]


def test_exports_are_made_from_the_saved_timeline(server, finished, monkeypatch):
    """What the exporter is given: the job's words and duration, read back from disk."""
    seen = []

    def render_export(utterance, fmt):
        seen.append((utterance, fmt))
        return "1\n00:00:00,000 --> 00:00:01,000\nHello there, friend.\n"

    monkeypatch.setattr(tasks, "render_export", render_export)
    response = server.get(finished["urls"]["srt"])
    assert response.status_code == 200 and response.text.startswith("1\n")
    utterance, fmt = seen[0]
    assert fmt == "srt"
    assert [w.text for w in utterance.words][:2] == ["Hello", "there"]
    assert abs(utterance.duration - finished["result"]["audio_duration"]) < 1e-3
    server.get(finished["urls"]["rhubarb"])
    assert seen[1][1] == "rhubarb-tsv"


@pytest.fixture(scope="module")
def talking_clip_bytes(tmp_path_factory) -> bytes:
    """3 s of the bundled portrait talking, as a phone would upload a clip of a person."""
    out = tmp_path_factory.mktemp("clip") / "talking.mp4"
    say("Maybe we can talk about the moon and the stars for a little while.", output=out)
    return out.read_bytes()


def test_a_video_avatar_is_read_at_upload_and_renders_its_own_mouths(
    server, talking_clip_bytes, tmp_path
):
    response = server.post(
        "/v1/avatars", files={"file": ("me talking.mp4", talking_clip_bytes, "video/mp4")}
    )
    assert response.status_code == 201, response.text
    avatar = response.json()
    assert avatar["kind"] == "video" and avatar["name"] == "me talking.mp4"
    assert (avatar["width"], avatar["height"]) == (512, 512)
    box = avatar["face_box"]
    assert 0 < box["x"] < box["x"] + box["width"] <= 512
    thumb = server.get(avatar["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    folder = Path(server.app.state.settings.data_dir) / "avatars" / avatar["id"]
    atlases = list(folder.rglob("atlas.npz"))
    assert len(atlases) == 1  # kept with the avatar
    text = "Bob bought a big map, maybe."
    created = server.post("/v1/videos", json={"text": text, "avatar_id": avatar["id"]}).json()
    job = wait_until_finished(server, created["id"])
    assert job["status"] == "done", job
    assert list(folder.rglob("atlas.npz")) == atlases  # the upload's reading was reused
    path = tmp_path / "clip_avatar.mp4"
    path.write_bytes(server.get(job["urls"]["video"]).content)
    spoken = synthesize(text, None)  # the voice is repeatable: these are the video's phones
    figures = lipsync_figures(path, spoken.phones, job["result"]["fps"])
    assert figures.closure_rate >= 0.8 and figures.open_closed_ratio > 2.0, figures


def test_unusable_video_avatars_are_refused_with_codes(server, tmp_path):
    def upload(name: str, content: bytes):
        return server.post("/v1/avatars", files={"file": (name, content, "video/mp4")})

    broken = b"\0\0\0\x18ftypmp42" + b"\1" * 900
    error = assert_error(upload("broken.mp4", broken), 422, "bad_input")
    assert "broken.mp4" in error["message"] and ".incoming" not in error["message"]
    wall = tmp_path / "wall.mp4"
    frames = [np.full((128, 128, 3), 90, np.uint8)] * 75
    write_video(wall, iter(frames), fps=25, audio=np.zeros(66150, np.float32), sample_rate=22050)
    error = assert_error(upload("wall.mp4", wall.read_bytes()), 422, "no_face")
    assert "wall.mp4" in error["message"]
    incoming = Path(server.app.state.settings.data_dir) / "avatars" / ".incoming"
    assert not list(incoming.iterdir())
