// AvatarLab web page: plain JavaScript talking to the /v1 API of the same server.
// Limits and option ranges come from /v1/config, so the page never disagrees with the server.
"use strict";

const KEY_STORAGE = "avatarlab.apiKey";
const HISTORY_STORAGE = "avatarlab.history";
const HISTORY_MAX = 30;
const STAGES = {
  queued: "Waiting for a worker",
  running: "Starting",
  face: "Preparing the face",
  voice: "Synthesising speech",
  align: "Aligning the recording",
  render: "Rendering frames",
  done: "Done",
  failed: "Failed",
};
const SIZES = [256, 384, 512, 640, 768, 1024];
const LIPSYNC_CHOICES = {
  auto: "Auto: the best that works",
  phones: "Phones: speech recognition (English)",
  energy: "Energy: loudness (any language)",
};
const LIPSYNC_USED = {
  alignment: "the transcript, aligned to the recording",
  recognition: "phones recognized in the recording",
  energy: "the recording's loudness",
};

const $ = (id) => document.getElementById(id);
const state = {
  config: null,
  avatars: [],
  avatarId: "astronaut",
  current: null,
  source: null,
  mode: "script", // or "recording"
  audio: null, // the uploaded recording: {id, name, duration, sample_rate}
};

// ---- API helpers -----------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

// URLs the browser fetches by itself (<video>, <img>, EventSource) cannot carry headers.
function withKey(url) {
  const key = apiKey();
  if (!key) return url;
  return url + (url.includes("?") ? "&" : "?") + "api_key=" + encodeURIComponent(key);
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey()) headers["X-API-Key"] = apiKey();
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, { headers }));
  } catch (error) {
    throw new ApiFailure(0, "offline", "The server cannot be reached.");
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body && body.error) || {};
    if (response.status === 401) showKeyForm();
    throw new ApiFailure(response.status, error.code || "error", error.message || response.statusText);
  }
  return body;
}

function postJson(path, data) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
}

// ---- Start-up -----------------------------------------------------------------------------

function showKeyForm() {
  $("key-form").hidden = false;
}

async function checkHealth() {
  const status = $("server-status");
  try {
    const response = await fetch("/healthz");
    const health = await response.json();
    status.textContent = `Ready · ${health.workers} worker${health.workers === 1 ? "" : "s"}`;
    status.className = "server-status ok";
  } catch (error) {
    status.textContent = "Server unreachable";
    status.className = "server-status down";
  }
}

async function start() {
  bindEvents();
  setMode(document.querySelector("input[name=source]:checked").value); // kept over reloads
  renderHistory();
  checkHealth();
  try {
    state.config = await api("/v1/config");
  } catch (error) {
    showFormError(error);
    return;
  }
  applyConfig(state.config);
  await Promise.all([loadVoices(), loadAvatars()]).catch(showFormError);
  resumeHistory();
}

function optionSpec(name) {
  return state.config.options.find((option) => option.name === name);
}

function applyConfig(config) {
  const script = $("script");
  script.maxLength = config.max_text_chars;
  $("transcript").maxLength = config.max_text_chars;
  updateCount();
  for (const name of ["speed", "head_motion", "articulation"]) {
    const spec = optionSpec(name);
    const input = $(name);
    input.min = spec.low;
    input.max = spec.high;
    input.value = spec.default;
    input.title = spec.help;
    showSlider(name);
  }
  const size = optionSpec("size");
  fillSelect($("size"), SIZES.filter((s) => s >= size.low && s <= size.high), size.default, (s) => `${s} × ${s}`);
  const format = optionSpec("format");
  fillSelect($("format"), format.choices, format.choices[0], (f) => f.toUpperCase());
  $("seed").value = optionSpec("seed").default;
  const lipsync = optionSpec("lipsync");
  fillSelect($("lipsync"), lipsync.choices, lipsync.default, (m) => LIPSYNC_CHOICES[m] || m);
  $("lipsync").title = lipsync.help;
  $("audio-limits").textContent =
    `Up to ${formatSeconds(config.max_audio_seconds)} and ${config.max_upload_mb} MB: ` +
    "wav, mp3, m4a, ogg, flac, or the sound of a video.";
}

function formatSeconds(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

function fillSelect(select, values, selected, label) {
  select.replaceChildren(
    ...values.map((value) => {
      const option = new Option(label(value), value);
      option.selected = String(value) === String(selected);
      return option;
    })
  );
}

async function loadVoices() {
  const { voices } = await api("/v1/voices");
  const names = voices.map((voice) => voice.name);
  fillSelect($("voice"), names, names[0], (name) => name);
}

// ---- Avatars ---------------------------------------------------------------------------

async function loadAvatars(selectId) {
  const { avatars } = await api("/v1/avatars");
  state.avatars = avatars;
  if (selectId) state.avatarId = selectId;
  if (!avatars.some((a) => a.id === state.avatarId)) state.avatarId = avatars[0].id;
  renderGallery();
}

function avatarTile(avatar) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "avatar";
  button.dataset.id = avatar.id;
  button.setAttribute("aria-pressed", String(avatar.id === state.avatarId));
  button.setAttribute("aria-label", `Use avatar ${avatar.name}`);
  button.title = avatar.notes.length ? avatar.notes.join("\n") : avatar.name;

  const frame = document.createElement("div");
  frame.className = "avatar-frame";
  frame.style.aspectRatio = `${avatar.width} / ${avatar.height}`;
  const image = document.createElement("img");
  image.src = withKey(avatar.thumbnail_url);
  image.alt = "";
  image.loading = "lazy";
  const box = document.createElement("span");
  box.className = "face-box";
  const face = avatar.face_box;
  box.style.left = `${(100 * face.x) / avatar.width}%`;
  box.style.top = `${(100 * face.y) / avatar.height}%`;
  box.style.width = `${(100 * face.width) / avatar.width}%`;
  box.style.height = `${(100 * face.height) / avatar.height}%`;
  frame.append(image, box);
  if (avatar.kind === "video") {
    const badge = document.createElement("span");
    badge.className = "kind-badge";
    badge.textContent = "▶ video";
    frame.append(badge);
  }

  const name = document.createElement("span");
  name.className = "avatar-name";
  name.textContent = avatar.name;
  const check = document.createElement("span");
  check.className = "check";
  check.setAttribute("aria-hidden", "true");
  check.textContent = "✓";
  button.append(frame, name, check);
  button.addEventListener("click", () => selectAvatar(avatar.id));
  return button;
}

function renderGallery() {
  $("gallery").replaceChildren(...state.avatars.map(avatarTile));
  const chosen = state.avatars.find((a) => a.id === state.avatarId);
  $("avatar-name").textContent = chosen ? chosen.name : "";
}

function selectAvatar(id) {
  state.avatarId = id;
  for (const tile of $("gallery").children) {
    tile.setAttribute("aria-pressed", String(tile.dataset.id === id));
  }
  const chosen = state.avatars.find((a) => a.id === id);
  $("avatar-name").textContent = chosen ? chosen.name : "";
}

function statusMessage(id, text, kind) {
  const status = $(id);
  status.textContent = text;
  status.className = "upload-status" + (kind ? " " + kind : "");
}

function uploadMessage(text, kind) {
  statusMessage("upload-status", text, kind);
}

async function uploadAvatar(file) {
  if (!file) return;
  const limit = state.config ? state.config.max_upload_mb : Infinity;
  if (file.size > limit * 1024 * 1024) {
    uploadMessage(`${file.name} is larger than the ${limit} MB limit.`, "error");
    return;
  }
  const clip = file.type.startsWith("video/") || /\.(mp4|mov|m4v|webm|mkv|avi)$/i.test(file.name);
  uploadMessage(
    clip
      ? `Reading ${file.name}: tracking the face and its mouths takes a few seconds…`
      : `Looking for a face in ${file.name}…`,
  );
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const avatar = await api("/v1/avatars", { method: "POST", body: form });
    await loadAvatars(avatar.id);
    const notes = avatar.notes.length ? " Note: " + avatar.notes.join("; ") + "." : "";
    uploadMessage(`Face found in ${avatar.name}.${notes}`, "ok");
  } catch (error) {
    uploadMessage(error.message, "error");
  }
}

// ---- Recorded speech -------------------------------------------------------------------

function setMode(mode) {
  state.mode = mode;
  const recording = mode === "recording";
  $("script-panel").hidden = recording;
  $("recording-panel").hidden = !recording;
  $("char-count").hidden = recording;
  $("voice-row").hidden = recording; // a recording has its own voice and pace
  $("options-title").textContent = recording ? "Options" : "Voice";
  showFormError(null);
}

async function uploadAudio(file) {
  if (!file) return;
  const limit = state.config ? state.config.max_upload_mb : Infinity;
  state.audio = null;
  if (file.size > limit * 1024 * 1024) {
    statusMessage("audio-status", `${file.name} is larger than the ${limit} MB limit.`, "error");
    return;
  }
  statusMessage("audio-status", `Reading ${file.name}…`);
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    state.audio = await api("/v1/audio", { method: "POST", body: form });
    const { name, duration } = state.audio;
    statusMessage("audio-status", `${name} · ${formatSeconds(duration)}`, "ok");
    showFormError(null);
  } catch (error) {
    statusMessage("audio-status", error.message, "error");
  }
}

// ---- Generating -------------------------------------------------------------------------

function showFormError(error) {
  $("form-error").textContent = error ? error.message : "";
}

function optionsFromForm() {
  return {
    voice: $("voice").value || null,
    speed: Number($("speed").value),
    head_motion: Number($("head_motion").value),
    articulation: Number($("articulation").value),
    size: Number($("size").value),
    format: $("format").value,
    seed: Number.parseInt($("seed").value || "0", 10),
  };
}

// The request for the chosen mode, or null (with the reason shown) when something is missing.
function videoRequest() {
  const request = Object.assign({ avatar_id: state.avatarId }, optionsFromForm());
  if (state.mode === "script") {
    const text = $("script").value;
    if (!text.trim()) {
      showFormError(new Error("Type something for the avatar to say."));
      $("script").focus();
      return null;
    }
    return Object.assign(request, { text });
  }
  if (!state.audio) {
    showFormError(new Error("Choose a recording first."));
    $("audio-button").focus();
    return null;
  }
  delete request.voice;
  delete request.speed;
  const transcript = $("transcript").value.trim();
  return Object.assign(request, {
    audio_id: state.audio.id,
    text: transcript || null,
    lipsync: $("lipsync").value,
  });
}

async function generate() {
  showFormError(null);
  const request = videoRequest();
  if (!request) return;
  const label = request.audio_id ? request.text || `Recording: ${state.audio.name}` : request.text;
  const button = $("generate");
  button.disabled = true;
  try {
    const job = await postJson("/v1/videos", request);
    addToHistory(job, label);
    follow(job);
  } catch (error) {
    showFormError(error);
  } finally {
    button.disabled = false;
  }
}

function showProgress(status, stage, progress) {
  const box = $("progress");
  box.hidden = false;
  box.classList.toggle("failed", status === "failed");
  const percent = Math.round(100 * (progress || 0));
  $("progress-stage").textContent = STAGES[stage] || STAGES[status] || status;
  $("progress-percent").textContent = `${percent}%`;
  $("progress-fill").style.width = `${percent}%`;
  $("progress-bar").setAttribute("aria-valuenow", String(percent));
}

function stopFollowing() {
  if (state.source) {
    state.source.close();
    state.source = null;
  }
}

// Live progress by server-sent events; the stream ends with the whole job.
function follow(job) {
  stopFollowing();
  state.current = job.id;
  highlightCurrent();
  clearPlayer();
  showProgress(job.status, job.stage, job.progress);
  const source = new EventSource(withKey(`/v1/videos/${job.id}/events`));
  state.source = source;
  source.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    if (state.current === job.id) showProgress(data.status, data.stage, data.progress);
  });
  source.addEventListener("done", (event) => finish(source, JSON.parse(event.data)));
  source.addEventListener("failed", (event) => finish(source, JSON.parse(event.data)));
  source.addEventListener("deleted", () => {
    source.close();
    removeFromHistory(job.id);
  });
}

function finish(source, job) {
  source.close();
  if (state.source === source) state.source = null;
  updateHistory(job);
  if (state.current !== job.id) return;
  if (job.status === "done") {
    showProgress("done", "done", 1);
    play(job, true);
  } else {
    showProgress("failed", "failed", job.progress);
    $("progress-stage").textContent = `Failed: ${job.error ? job.error.message : "unknown error"}`;
  }
}

function clearPlayer() {
  const player = $("player");
  player.pause();
  player.removeAttribute("src");
  player.load();
  player.hidden = true;
  $("screen-empty").hidden = false;
  $("downloads").hidden = true;
  $("result-info").hidden = true;
  $("preview-meta").textContent = "";
}

// A fresh render starts playing (the click on Generate allows sound); history waits for Play.
function play(job, autoplay = false) {
  const player = $("player");
  player.src = withKey(job.urls.video);
  player.hidden = false;
  $("screen-empty").hidden = true;
  player.load();
  if (autoplay) player.play().catch(() => {});
  const result = job.result;
  $("preview-meta").textContent = `${result.duration.toFixed(1)} s · ${result.width}×${result.height} · ${result.format.toUpperCase()}`;
  showDownloads(job);
  showResultInfo(job.result);
}

// Subtitles need words: a recording read without a transcript may have none.
function showDownloads(job) {
  const hasWords = job.result.words > 0;
  const links = {
    "dl-video": [job.urls.download, true],
    "dl-srt": [job.urls.srt, hasWords],
    "dl-vtt": [job.urls.vtt, hasWords],
    "dl-visemes": [job.urls.visemes, true],
    "dl-rhubarb": [job.urls.rhubarb, true],
  };
  for (const [id, [url, available]] of Object.entries(links)) {
    const link = $(id);
    if (available) {
      link.href = withKey(url);
    } else {
      link.removeAttribute("href"); // no href: not a link, so not focusable either
    }
    link.setAttribute("aria-disabled", String(!available));
    link.title = available ? "" : "No words were found: give a transcript for subtitles";
  }
  $("dl-video").textContent = job.result.format.toUpperCase();
  $("downloads").hidden = false;
}

function showResultInfo(result) {
  const used = LIPSYNC_USED[result.lipsync];
  const notes = result.notes || [];
  $("lipsync-used").textContent = used ? `Lip-sync: ${used}.` : "";
  $("lipsync-used").hidden = !used;
  $("result-notes").replaceChildren(
    ...notes.map((note) => {
      const item = document.createElement("li");
      item.textContent = note;
      return item;
    })
  );
  $("result-info").hidden = !used && notes.length === 0;
}

// ---- History (this browser only) --------------------------------------------------------

function loadHistory() {
  try {
    const items = JSON.parse(localStorage.getItem(HISTORY_STORAGE) || "[]");
    return Array.isArray(items) ? items : [];
  } catch (error) {
    return [];
  }
}

function saveHistory(items) {
  localStorage.setItem(HISTORY_STORAGE, JSON.stringify(items.slice(0, HISTORY_MAX)));
  renderHistory();
}

// label: what the list shows (the script, the transcript, or the recording's name).
function historyEntry(job, label) {
  return {
    id: job.id,
    text: label || job.text || "(recorded audio)",
    avatar_id: job.avatar_id,
    created: job.created,
    status: job.status,
    duration: job.result ? job.result.duration : null,
    error: job.error ? job.error.message : null,
  };
}

function addToHistory(job, label) {
  saveHistory([historyEntry(job, label), ...loadHistory().filter((item) => item.id !== job.id)]);
}

function updateHistory(job) {
  saveHistory(loadHistory().map((item) => (item.id === job.id ? historyEntry(job, item.text) : item)));
}

function removeFromHistory(id) {
  saveHistory(loadHistory().filter((item) => item.id !== id));
  if (state.current === id) {
    state.current = null;
    clearPlayer();
    $("progress").hidden = true;
  }
}

function describe(item) {
  const when = new Date(item.created * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  if (item.status === "done") return `${when} · ${item.duration.toFixed(1)} s`;
  if (item.status === "failed") return `${when} · failed`;
  return `${when} · ${item.status}…`;
}

function historyItem(item) {
  const li = document.createElement("li");
  li.className = "history-item" + (item.id === state.current ? " current" : "");
  li.dataset.id = item.id;
  const image = document.createElement("img");
  image.src = withKey(`/v1/avatars/${item.avatar_id}/thumbnail`);
  image.alt = "";
  const body = document.createElement("div");
  const text = document.createElement("p");
  text.className = "history-text";
  text.textContent = item.text;
  text.title = item.text;
  const meta = document.createElement("p");
  meta.className = "history-meta";
  meta.textContent = describe(item);
  if (item.status === "failed") {
    meta.classList.add("bad");
    meta.title = item.error || "";
  }
  body.append(text, meta);

  const actions = document.createElement("div");
  actions.className = "history-actions";
  const open = document.createElement("button");
  open.type = "button";
  open.className = "button secondary small";
  open.textContent = item.status === "done" ? "Play" : "Show";
  open.setAttribute("aria-label", `${open.textContent}: ${item.text.slice(0, 60)}`);
  open.addEventListener("click", () => openFromHistory(item.id));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "button secondary small";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete: ${item.text.slice(0, 60)}`);
  remove.addEventListener("click", () => deleteVideo(item.id));
  actions.append(open, remove);
  li.append(image, body, actions);
  return li;
}

function renderHistory() {
  const items = loadHistory();
  $("history").replaceChildren(...items.map(historyItem));
  $("history-empty").hidden = items.length > 0;
}

function highlightCurrent() {
  for (const li of $("history").children) {
    li.classList.toggle("current", li.dataset.id === state.current);
  }
}

async function openFromHistory(id) {
  try {
    const job = await api(`/v1/videos/${id}`);
    updateHistory(job);
    if (job.status === "done") {
      stopFollowing();
      state.current = id;
      highlightCurrent();
      showProgress("done", "done", 1);
      play(job);
    } else {
      follow(job);
    }
  } catch (error) {
    if (error.status === 404) {
      removeFromHistory(id);
      showFormError(new Error("That video is no longer on the server."));
    } else {
      showFormError(error);
    }
  }
}

async function deleteVideo(id) {
  try {
    await api(`/v1/videos/${id}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) {
      showFormError(error);
      return;
    }
  }
  if (state.current === id) stopFollowing();
  removeFromHistory(id);
}

// Videos still rendering when the page was closed: pick up the newest one again.
function resumeHistory() {
  const pending = loadHistory().find((item) => item.status === "queued" || item.status === "running");
  if (pending) openFromHistory(pending.id);
}

// ---- Events ------------------------------------------------------------------------------

function updateCount() {
  const script = $("script");
  const limit = state.config ? state.config.max_text_chars : script.maxLength;
  const count = script.value.length;
  const label = $("char-count");
  label.textContent = `${count.toLocaleString()} / ${limit.toLocaleString()}`;
  label.classList.toggle("near", count > 0.9 * limit && count <= limit);
  label.classList.toggle("over", count > limit);
}

function showSlider(name) {
  const value = Number($(name).value);
  $(`${name}-value`).textContent = name === "speed" ? `${value.toFixed(2)}×` : value.toFixed(2);
}

// A drop area with a hidden file input behind a button: click, keyboard or drag and drop.
function bindDropzone(zoneId, inputId, buttonId, handle) {
  const zone = $(zoneId);
  const input = $(inputId);
  $(buttonId).addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    handle(input.files[0]);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    handle(event.dataTransfer.files[0]);
  });
}

function generateOnCtrlEnter(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    generate();
  }
}

function bindEvents() {
  const script = $("script");
  script.addEventListener("input", updateCount);
  script.addEventListener("keydown", generateOnCtrlEnter);
  $("transcript").addEventListener("keydown", generateOnCtrlEnter);
  for (const radio of document.querySelectorAll("input[name=source]")) {
    radio.addEventListener("change", () => setMode(radio.value));
  }
  for (const name of ["speed", "head_motion", "articulation"]) {
    $(name).addEventListener("input", () => showSlider(name));
  }
  $("generate").addEventListener("click", generate);
  bindDropzone("dropzone", "upload", "upload-button", uploadAvatar);
  bindDropzone("audio-dropzone", "audio-upload", "audio-button", uploadAudio);
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    window.location.reload();
  });
}

start();
