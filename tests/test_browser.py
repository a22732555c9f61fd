"""The web page in a real browser: Debian's headless Chromium, driven by Playwright.

The server runs with uvicorn in a thread on a free port, exactly as ``avatarlab serve`` runs
it; the tests type a script (or upload a recording), click Generate and wait until the
<video> can play.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import uvicorn
from audio_files import write_audio
from skimage import data

import avatarlab
from avatarlab.server import ServerSettings, create_app
from avatarlab.speech import synthesize
from avatarlab.video import read_frames, write_video

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("AVATARLAB_SCREENSHOTS", tempfile.gettempdir()))
"""Where screenshots go: the temporary folder, or docs/ when `make docs-media` runs this."""
SCREENSHOT = SHOTS / "screenshot-web.png"
PHONE_SHOT = SHOTS / "avatarlab-phone.png"
SCRIPT = "Hello! I'm your new tutor. Let's build something beautiful, maybe a bright blue map."
RECORDED_TEXT = "Peter may pay for the pump, maybe."
CLIP_TEXT = "Maybe we can talk about the moon and the stars for a little while, my friend."
RECORDING_SHOT = SHOTS / "avatarlab-recording.png"
PLAYABLE = (
    "() => { const v = document.getElementById('player'); return !v.hidden && v.readyState >= 3; }"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1; the socket is bound first, so no port race."""
    settings = ServerSettings(data_dir=tmp_path_factory.mktemp("web"), workers=1, api_key=None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. Install it with "
            "`apt-get install -y chromium chromium-driver` (as root) or `make browser`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, base_url: str, width: int, height: int):
    """A fresh page that records console errors and uncaught exceptions."""
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(base_url)
    page.wait_for_selector("#gallery .avatar")
    return page, problems


def show_frame(page, seconds: float) -> None:
    """Play up to a frame mid-speech and pause there (which also clears the loading
    spinner that Chromium draws over a video that has only been loaded or seeked)."""
    page.evaluate(
        """async (t) => {
            const video = document.getElementById('player');
            video.muted = true;
            video.currentTime = 0;
            await video.play();
            await new Promise((done) => setTimeout(done, 1000 * t));
            video.pause();
            video.muted = false;
        }""",
        seconds,
    )
    page.wait_for_timeout(300)


def test_generate_and_play_in_the_browser(browser, base_url):
    page, problems = open_page(browser, base_url, 1280, 860)
    page.fill("#script", SCRIPT)
    assert page.inner_text("#char-count").startswith(f"{len(SCRIPT)} /")
    page.click("#generate")
    page.wait_for_function(PLAYABLE, timeout=45_000)
    duration = page.evaluate("document.getElementById('player').duration")
    history = json.loads(page.evaluate("localStorage.getItem('avatarlab.history')"))
    job = httpx.get(f"{base_url}/v1/videos/{history[0]['id']}").json()
    assert job["status"] == "done"
    assert abs(duration - job["result"]["duration"]) < 0.1
    assert page.inner_text("#progress-percent") == "100%"
    assert page.is_visible("#downloads") and page.is_visible(".history-item")
    show_frame(page, 1.0)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == []
    page.close()


def test_upload_a_recording_and_play_its_video(browser, base_url, tmp_path):
    spoken = synthesize(RECORDED_TEXT, None)
    wav = write_audio(tmp_path / "peter.wav", spoken.audio, spoken.sample_rate)
    page, problems = open_page(browser, base_url, 1280, 900)
    page.get_by_text("Upload a recording").click()
    assert page.is_visible("#recording-panel") and not page.is_visible("#script")
    assert not page.is_visible("#voice-row")  # a recording brings its own voice
    methods = page.eval_on_selector_all("#lipsync option", "options => options.map(o => o.value)")
    assert methods == ["auto", "phones", "energy"]
    page.click("#generate")  # nothing chosen yet: a message, no request
    assert "Choose a recording" in page.inner_text("#form-error")
    page.set_input_files("#audio-upload", str(wav))
    page.wait_for_selector("#audio-status.ok")
    assert page.inner_text("#audio-status") == f"peter.wav · {spoken.duration:.1f} s"
    page.fill("#transcript", RECORDED_TEXT)
    page.click("#generate")
    page.wait_for_function(PLAYABLE, timeout=45_000)
    duration = page.evaluate("document.getElementById('player').duration")
    assert abs(duration - spoken.duration) < 0.1
    history = json.loads(page.evaluate("localStorage.getItem('avatarlab.history')"))
    assert history[0]["text"] == RECORDED_TEXT
    job = httpx.get(f"{base_url}/v1/videos/{history[0]['id']}").json()
    assert job["audio_id"] and job["result"]["lipsync"] == "alignment"
    assert "transcript" in page.inner_text("#lipsync-used")
    for chip in ("dl-video", "dl-srt", "dl-vtt", "dl-visemes", "dl-rhubarb"):
        assert page.get_attribute(f"#{chip}", "aria-disabled") == "false", chip
    rhubarb = httpx.get(base_url + page.get_attribute("#dl-rhubarb", "href"))
    assert rhubarb.status_code == 200 and rhubarb.text
    show_frame(page, 1.0)
    page.screenshot(path=str(RECORDING_SHOT), full_page=True)
    assert problems == []
    page.close()


def test_phone_width_has_no_sideways_scroll(browser, base_url):
    page, problems = open_page(browser, base_url, 390, 844)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(PHONE_SHOT), full_page=True)
    page.focus("#script")
    page.keyboard.press("Tab")  # out of the text area, onto the first avatar button
    assert page.evaluate("document.activeElement.className") == "avatar"
    page.focus("input[name=source]:checked")
    page.keyboard.press("ArrowRight")  # the speech choice works from the keyboard
    assert page.is_visible("#recording-panel") and page.is_visible("#transcript")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(PHONE_SHOT.with_name("avatarlab-phone-recording.png")), full_page=True)
    assert problems == []
    page.close()


def test_upload_shows_the_face_box_or_the_reason(browser, base_url, tmp_path):
    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (256, 1))
    cv2.imwrite(str(tmp_path / "ramp.png"), ramp)
    cv2.imwrite(str(tmp_path / "me.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    page, problems = open_page(browser, base_url, 1024, 800)
    page.set_input_files("#upload", str(tmp_path / "ramp.png"))
    page.wait_for_selector("#upload-status.error")
    assert "no face" in page.inner_text("#upload-status")
    page.set_input_files("#upload", str(tmp_path / "me.png"))
    page.wait_for_selector("#upload-status.ok")
    selected = page.locator(".avatar[aria-pressed='true']")
    assert selected.locator(".avatar-name").inner_text() == "me.png"
    box = selected.locator(".face-box").bounding_box()
    frame = selected.locator(".avatar-frame").bounding_box()
    assert 0 < box["width"] < frame["width"] and 0 < box["height"] < frame["height"]
    # The failed upload answered 422: Chromium logs that as a failed resource, nothing else.
    assert [p for p in problems if "422" not in p] == []
    page.close()


def test_upload_a_clip_as_the_avatar_and_play_its_video(browser, base_url, tmp_path):
    clip = avatarlab.say(CLIP_TEXT, output=tmp_path / "me_talking.mp4", size=256).video_path
    page, problems = open_page(browser, base_url, 1280, 900)
    page.set_input_files("#upload", str(clip))
    page.wait_for_selector("#upload-status.ok", timeout=60_000)
    selected = page.locator(".avatar[aria-pressed='true']")
    assert selected.locator(".avatar-name").inner_text() == "me_talking.mp4"
    assert selected.locator(".kind-badge").inner_text() == "▶ video"
    assert page.locator(".avatar .kind-badge").count() == 1  # the bundled photo has none
    box = selected.locator(".face-box").bounding_box()
    frame = selected.locator(".avatar-frame").bounding_box()
    assert 0 < box["width"] < frame["width"] and 0 < box["height"] < frame["height"]
    thumbnail = selected.locator("img").evaluate("image => image.naturalWidth")
    assert thumbnail > 0  # the clip's neutral frame was served and decoded
    page.fill("#script", "Bob bought a map.")
    page.click("#generate")
    page.wait_for_function(PLAYABLE, timeout=60_000)
    history = json.loads(page.evaluate("localStorage.getItem('avatarlab.history')"))
    job = httpx.get(f"{base_url}/v1/videos/{history[0]['id']}").json()
    assert job["status"] == "done"
    avatar = httpx.get(f"{base_url}/v1/avatars/{job['avatar_id']}").json()
    assert avatar["kind"] == "video"
    rendered = httpx.get(base_url + job["urls"]["download"])
    video = tmp_path / "from_the_page.mp4"
    video.write_bytes(rendered.content)
    first = next(iter(read_frames(video)))
    source = cv2.resize(next(iter(read_frames(clip))), first.shape[1::-1])
    assert np.abs(first.astype(int) - source).mean() < 6  # the clip plays behind the speech
    show_frame(page, 0.5)
    page.screenshot(path=str(SHOTS / "avatarlab-clip-avatar.png"), full_page=True)
    assert problems == []
    page.close()


def test_api_docs_page_works_offline(browser, base_url):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{base_url}/docs")
    page.wait_for_selector(".endpoint")
    paths = page.locator(".endpoint .path").all_inner_texts()
    assert "/v1/videos" in paths and "/v1/videos/{video_id}/events" in paths
    page.locator(".endpoint", has_text="POST").first.click()
    page.screenshot(path=str(SHOTS / "avatarlab-docs.png"), full_page=False)
    assert problems == []
    page.close()


COLOUR_BARS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255))
SKIN_TONES = ((224, 172, 140), (141, 85, 36), (60, 40, 30))


def test_browser_shows_the_videos_colours(browser, tmp_path):
    """The colour matrix the encoder converts with and the one it tags the file with must
    agree, or every video looks off in the browser (a BT.709 tag on this Chromium showed
    pure blue as 243 and put 11 levels of blue into green)."""
    colours = COLOUR_BARS + SKIN_TONES
    bars = np.zeros((256, 64 * len(colours), 3), np.uint8)
    for index, colour in enumerate(colours):
        bars[:, 64 * index : 64 * (index + 1)] = colour
    path = tmp_path / "bars.mp4"
    write_video(path, [bars] * 10, fps=25, audio=None, sample_rate=22050)
    page = browser.new_page()
    page.route("http://colours.test/bars.mp4", lambda route: route.fulfill(path=str(path)))
    page.route(
        "http://colours.test/",
        lambda route: route.fulfill(
            content_type="text/html",
            body="<video id=v muted src='bars.mp4'></video><canvas id=c></canvas>",
        ),
    )
    page.goto("http://colours.test/")
    page.wait_for_function("document.getElementById('v').readyState >= 2", timeout=15_000)
    shown = page.evaluate(
        """(n) => {
            const video = document.getElementById('v'), canvas = document.getElementById('c');
            canvas.width = video.videoWidth; canvas.height = video.videoHeight;
            const context = canvas.getContext('2d');
            context.drawImage(video, 0, 0);
            return [...Array(n).keys()].map((i) =>
                [...context.getImageData(64 * i + 32, 128, 1, 1).data.slice(0, 3)]);
        }""",
        len(colours),
    )
    page.close()
    error = np.abs(np.array(shown) - np.array(colours)).max(axis=1)
    assert error.max() <= 4, dict(zip(colours, shown, strict=True))
