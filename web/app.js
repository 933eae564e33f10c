// The try-it page: pick an image, a model and a task, send it to POST /api/v1/web/caption and
// show the caption, the regions (Florence-2 boxes/polygons, Kosmos-2 entities) over the preview,
// and the timings. Plain ES module, no dependencies: the page works offline.
// document.body.dataset.state says what the page is doing (idle, busy, done, error): the browser
// test waits on it.

const $ = (id) => document.getElementById(id);
const els = {
  form: $("form"),
  drop: $("drop"),
  file: $("file"),
  fileName: $("file-name"),
  preview: $("preview"),
  img: $("preview-img"),
  overlay: $("overlay"),
  size: $("preview-size"),
  model: $("model"),
  taskField: $("task-field"),
  task: $("task"),
  prompt: $("prompt"),
  promptLabel: $("prompt-label"),
  promptHint: $("prompt-hint"),
  apiKey: $("api-key"),
  keyBox: $("key-box"),
  button: $("caption-button"),
  status: $("status"),
  error: $("error"),
  result: $("result"),
  caption: $("caption"),
  entities: $("entities"),
  timings: $("timings"),
  structured: $("structured"),
};

const keyStorage = "sightline.apiKey";
const palette = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"];

const state = {
  /** @type {File | null} */ file: null,
  previewUrl: "",
  /** name → {name, version, florence} */ models: new Map(),
  /** The last answer, redrawn when the preview changes size. */ answer: null,
  busy: false,
};

function setState(name) {
  document.body.dataset.state = name;
}

function setStatus(text) {
  els.status.textContent = text;
}

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = !message;
}

function headers(extra = {}) {
  const key = els.apiKey.value.trim();
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
}

/** fetch + the server's `{error, code}` turned into one readable Error. */
async function api(path, init = {}) {
  let res;
  try {
    res = await fetch(path, { ...init, headers: headers(init.headers) });
  } catch (e) {
    throw new Error(`Could not reach the server (${e.message}).`, { cause: e });
  }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const message =
      body && typeof body === "object" && body.error ? body.error : String(body || res.statusText);
    const code = body && typeof body === "object" && body.code ? `${body.code}: ` : "";
    const err = new Error(`${code}${message} (HTTP ${res.status})`);
    err.status = res.status;
    throw err;
  }
  return body;
}

// ---- models and tasks ------------------------------------------------------------------------

async function loadModels() {
  els.model.disabled = true;
  try {
    const list = await api("/api/v1/web/models");
    state.models = new Map(list.models.map((m) => [m.name, m]));
    els.model.replaceChildren(
      ...list.models.map((m) => {
        const option = new Option(`${m.name}${m.name === list.default ? " (default)" : ""}`, m.name);
        option.selected = m.name === list.default;
        return option;
      }),
    );
    els.model.disabled = false;
    showError("");
    await modelChanged();
  } catch (e) {
    els.model.replaceChildren(new Option("(no models)", ""));
    if (e.status === 401) {
      els.keyBox.open = true;
      showError(`${e.message} — enter this server's API key above.`);
    } else {
      showError(`Could not list the models: ${e.message}`);
    }
  }
  updateButton();
}

let modelChanges = 0;

async function modelChanged() {
  // A task list that arrives after the user picked another model is dropped.
  const change = ++modelChanges;
  const model = state.models.get(els.model.value);
  const florence = Boolean(model && model.florence);
  els.taskField.hidden = !florence;
  els.promptLabel.textContent = florence ? "Text input (for tasks that take one)" : "Prompt (optional)";
  els.prompt.placeholder = florence ? "e.g. a green car" : "e.g. a photograph of";
  els.promptHint.textContent = florence
    ? "Grounding, referring-expression and region tasks read this text after the task token."
    : "BLIP continues the text, Kosmos-2 grounds it (default “<grounding>An image of”).";
  if (!florence) return;
  els.task.replaceChildren(new Option("Loading tasks…", ""));
  els.task.disabled = true;
  setStatus(`Loading ${model.name}'s tasks (the model loads the first time)…`);
  try {
    const tasks = await api(`/api/v1/web/prompts?model=${encodeURIComponent(model.name)}`);
    if (change !== modelChanges) return;
    const list = tasks.length ? tasks : ["<CAPTION>"];
    els.task.replaceChildren(...list.map((t) => new Option(t, t, false, t === "<CAPTION>")));
    setStatus(state.file ? "Ready." : "Choose an image to start.");
  } catch (e) {
    if (change !== modelChanges) return;
    els.task.replaceChildren(new Option("<CAPTION>", "<CAPTION>"));
    showError(`Could not list the tasks: ${e.message}`);
  }
  els.task.disabled = false;
}

// ---- image -----------------------------------------------------------------------------------

function useFile(file) {
  if (!file) return;
  if (file.type && !file.type.startsWith("image/")) {
    showError(`${file.name} is not an image (${file.type}).`);
    return;
  }
  showError("");
  state.file = file;
  state.answer = null;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = URL.createObjectURL(file);
  els.img.src = state.previewUrl;
  els.preview.hidden = false;
  els.fileName.textContent = `${file.name} (${formatBytes(file.size)})`;
  els.result.hidden = true;
  clearOverlay();
  setStatus("Ready.");
  setState("idle");
  updateButton();
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function updateButton() {
  els.button.disabled = state.busy || !state.file || !els.model.value;
}

// ---- request ---------------------------------------------------------------------------------

function promptFor(model) {
  const text = els.prompt.value.trim();
  if (model && model.florence) return `${els.task.value || "<CAPTION>"}${text}`;
  return text;
}

async function send(event) {
  event.preventDefault();
  if (!state.file || state.busy) return;
  const model = state.models.get(els.model.value);
  const query = new URLSearchParams({ model: els.model.value });
  const prompt = promptFor(model);
  if (prompt) query.set("prompt", prompt);
  state.busy = true;
  updateButton();
  showError("");
  setState("busy");
  setStatus(`Captioning with ${els.model.value}…`);
  const started = performance.now();
  try {
    const answer = await api(`/api/v1/web/caption?${query}`, {
      method: "POST",
      headers: { "content-type": state.file.type || "application/octet-stream" },
      body: state.file,
    });
    answer.roundTrip = performance.now() - started;
    state.answer = answer;
    showAnswer(answer);
    setStatus(`Done in ${formatMs(answer.roundTrip)}.`);
    setState("done");
  } catch (e) {
    if (e.status === 401) els.keyBox.open = true;
    showError(e.message);
    setStatus("The request failed.");
    setState("error");
  } finally {
    state.busy = false;
    updateButton();
    // One column (a phone): the answer is below the form, bring it into view.
    if (window.matchMedia("(max-width: 899px)").matches) {
      $("output").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  }
}

// ---- answer ----------------------------------------------------------------------------------

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/** Regions in image pixels: {label, box: [x1,y1,x2,y2]} or {label, points: [x,y,…]}. */
function regions(answer) {
  const out = [];
  const { width, height } = answer.image;
  for (const entity of answer.entities || []) {
    // Kosmos-2: boxes are fractions of the image.
    for (const b of entity.boxes || []) {
      out.push({ label: entity.phrase, box: [b[0] * width, b[1] * height, b[2] * width, b[3] * height] });
    }
  }
  let r = answer.result;
  // Florence-2: {"<TASK>": value} or the value itself.
  if (r && typeof r === "object" && !Array.isArray(r)) {
    const keys = Object.keys(r);
    if (keys.length === 1 && keys[0].startsWith("<")) r = r[keys[0]];
  }
  if (r && typeof r === "object" && !Array.isArray(r)) {
    (r.bboxes || []).forEach((box, i) => {
      out.push({ label: (r.labels || r.bboxes_labels || [])[i] || "", box });
    });
    (r.quad_boxes || []).forEach((points, i) => out.push({ label: (r.labels || [])[i] || "", points }));
    (r.polygons || []).forEach((instance, i) => {
      const label = (r.labels || r.polygons_labels || [])[i] || "";
      for (const points of instance) out.push({ label, points });
    });
  }
  return out;
}

function showAnswer(answer) {
  els.result.hidden = false;
  els.caption.textContent = answer.text || "(empty caption)";
  els.caption.classList.toggle("empty", !answer.text);

  const found = regions(answer);
  els.entities.replaceChildren(
    ...found.map((region, i) => {
      const li = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = palette[i % palette.length];
      const coords = (region.box || region.points).map((v) => Math.round(v)).join(", ");
      li.append(
        swatch,
        `${region.label || "(region)"} `,
        Object.assign(document.createElement("code"), { textContent: `[${coords}]` }),
      );
      return li;
    }),
  );
  els.entities.hidden = found.length === 0;

  const t = answer.timings || {};
  const rows = [
    ["Model", `${answer.model.name} (${answer.model.version})`],
    ["Image", `${answer.image.width} × ${answer.image.height}`],
    ["Fetch + decode", t.image],
    // Waiting for the model to load (its first request, or after idle unload) is not queueing.
    ["Model load", t.load],
    ["Queue", t.queue],
    ["Preprocess", t.preprocess],
    ["Encode", t.encode],
    ["Decode", t.decode],
    ["Run (worker)", t.run],
    ["Round trip", answer.roundTrip],
  ];
  els.timings.replaceChildren(
    ...rows
      .filter(([, v]) => v !== undefined && v !== null)
      .flatMap(([name, v]) => [
        Object.assign(document.createElement("dt"), { textContent: name }),
        Object.assign(document.createElement("dd"), { textContent: typeof v === "number" ? formatMs(v) : v }),
      ]),
  );
  const structured = { text: answer.text, result: answer.result, entities: answer.entities };
  els.structured.textContent = JSON.stringify(structured, null, 2);
  drawOverlay();
}

function clearOverlay() {
  const ctx = els.overlay.getContext("2d");
  ctx.clearRect(0, 0, els.overlay.width, els.overlay.height);
}

/** Regions drawn over the preview at its displayed size (redrawn when it changes). */
function drawOverlay() {
  const answer = state.answer;
  const shown = els.img.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  els.overlay.width = Math.round(shown.width * ratio);
  els.overlay.height = Math.round(shown.height * ratio);
  els.overlay.style.width = `${shown.width}px`;
  els.overlay.style.height = `${shown.height}px`;
  clearOverlay();
  if (!answer || !shown.width) return;
  const ctx = els.overlay.getContext("2d");
  const sx = (shown.width * ratio) / answer.image.width;
  const sy = (shown.height * ratio) / answer.image.height;
  ctx.lineWidth = 2 * ratio;
  ctx.font = `${12 * ratio}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  regions(answer).forEach((region, i) => {
    const colour = palette[i % palette.length];
    ctx.strokeStyle = colour;
    let x;
    let y;
    if (region.box) {
      const [x1, y1, x2, y2] = region.box;
      ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      [x, y] = [x1 * sx, y1 * sy];
    } else {
      const p = region.points;
      ctx.beginPath();
      for (let k = 0; k + 1 < p.length; k += 2) ctx[k ? "lineTo" : "moveTo"](p[k] * sx, p[k + 1] * sy);
      ctx.closePath();
      ctx.stroke();
      [x, y] = [p[0] * sx, p[1] * sy];
    }
    if (region.label) {
      const w = ctx.measureText(region.label).width + 6 * ratio;
      // Keep the label on the canvas (boxes at the right or bottom edge).
      x = Math.max(0, Math.min(x, els.overlay.width - w));
      y = Math.max(0, Math.min(y, els.overlay.height - 16 * ratio));
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, w, 16 * ratio);
      ctx.fillStyle = "#fff";
      ctx.fillText(region.label, x + 3 * ratio, y + 2 * ratio);
    }
  });
}

// ---- wiring ----------------------------------------------------------------------------------

function wire() {
  els.apiKey.value = sessionStorage.getItem(keyStorage) || "";
  els.apiKey.addEventListener("change", () => {
    sessionStorage.setItem(keyStorage, els.apiKey.value.trim());
    void loadModels();
  });
  els.model.addEventListener("change", () => {
    showError("");
    void modelChanged();
    updateButton();
  });
  els.file.addEventListener("change", () => useFile(els.file.files && els.file.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    els.drop.addEventListener(name, (e) => {
      e.preventDefault();
      els.drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    els.drop.addEventListener(name, (e) => {
      e.preventDefault();
      els.drop.classList.remove("over");
    });
  }
  els.drop.addEventListener("drop", (e) => useFile(e.dataTransfer && e.dataTransfer.files[0]));
  // A file dropped anywhere else would make the browser navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    useFile(e.dataTransfer && e.dataTransfer.files[0]);
  });
  els.img.addEventListener("load", () => {
    els.size.textContent = `${els.img.naturalWidth} × ${els.img.naturalHeight} pixels`;
    drawOverlay();
  });
  els.img.addEventListener("error", () => {
    els.size.textContent = "This browser cannot show a preview of this file; the server may still read it.";
  });
  new ResizeObserver(() => drawOverlay()).observe(els.img);
  els.form.addEventListener("submit", send);
}

setState("idle");
wire();
void loadModels();
