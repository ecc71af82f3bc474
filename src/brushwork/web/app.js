// brushwork playground: a form generated from the app's input schema, a mask editor,
// live progress from the task's event stream, a gallery and a history. Plain ES module,
// no build step, no CDN: everything it needs is served by `brushwork serve`.

const $ = (sel) => document.querySelector(sel);
// SPEC §5 status numbers, by name (contract.TaskStatus); terminal from COMPLETED on
const TaskStatus = Object.freeze({
  RECEIVED: 1, QUEUED: 2, SCHEDULED: 3, PREPARING: 4, SERVING: 5, SETTING_UP: 6,
  RUNNING: 7, UPLOADING: 8, COMPLETED: 9, FAILED: 10, CANCELLED: 11,
  isTerminal: (status) => status >= TaskStatus.COMPLETED,
});
const KEY = "brushwork.key";
const state = {
  key: sessionStorage.getItem(KEY) || "",
  schema: null,
  refs: [],          // {blob, name, url, width, height}
  taskId: null,
  stream: null,      // AbortController of the open stream
  lastRequest: null,
};

// ------------------------------------------------------------------ HTTP

function headers(extra = {}) {
  return state.key ? { ...extra, Authorization: `Bearer ${state.key}` } : { ...extra };
}

class ApiError extends Error {
  constructor(message, param, status) { super(message); this.param = param; this.status = status; }
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  const isJson = (response.headers.get("content-type") || "").includes("json");
  const body = isJson ? await response.json() : await response.text();
  if (!response.ok) {
    const error = (body && body.error) || {};
    throw new ApiError(error.message || `HTTP ${response.status}`, error.param, response.status);
  }
  return body;
}

async function blobOf(uri) {
  const response = await fetch(uri, { headers: headers() });
  if (!response.ok) throw new ApiError(`download failed: HTTP ${response.status}`, null, response.status);
  return response.blob();
}

async function upload(blob, name) {
  const data = new FormData();
  data.append("file", blob, name);
  return api("/files", { method: "POST", body: data });
}

// ------------------------------------------------------------------ key and apps

function setupKey() {
  const input = $("#api-key");
  input.value = state.key;
  input.addEventListener("change", () => {
    if (input.value.trim() === state.key) return;
    state.key = input.value.trim();
    sessionStorage.setItem(KEY, state.key);  // this tab only, never localStorage
    loadApps();
  });
}

async function loadApps() {
  const select = $("#app");
  try {
    const { data } = await api("/apps");
    $("#key-state").textContent = "";
    select.replaceChildren(...data.map((app) => {
      const option = new Option(app.id + (app.available ? "" : " (unavailable)"), app.id);
      option.disabled = !app.available;
      option.title = app.unavailable_reason || app.description;
      return option;
    }));
    const first = data.find((app) => app.available);
    if (first) select.value = first.id;
    await loadSchema();
    loadHistory();
  } catch (error) {
    $("#key-state").textContent = error.status === 401 ? "enter a valid API key" : error.message;
  }
}

async function loadSchema() {
  const app = await api(`/apps/${$("#app").value}`);
  $("#app-note").textContent = app.description;
  state.schema = app.input_schema;
  buildForm(state.schema);
}

// ------------------------------------------------------------------ the form, from the schema

const PRESETS = ["1024x1024", "1536x1024", "1024x1536", "1536x864", "2048x2048", "3840x2160"];
const ORDER = ["prompt", "width", "quality", "n", "output_format", "output_compression", "background", "seed", "moderation",
  "mode", "text", "grow", "feather", "invert"];  // the last five: brushwork/masks (SPEC §10)

function field(name, control, label = name.replace("_", " ")) {
  const wrap = document.createElement("div");
  wrap.className = "field";
  wrap.dataset.param = name;
  const title = document.createElement("label");
  title.textContent = label;
  title.append(control);
  const error = document.createElement("p");
  error.className = "error";
  error.dataset.errorFor = name;
  wrap.append(title, error);
  return wrap;
}

function control(name, spec) {
  const options = spec.enum || (spec.anyOf || []).flatMap((s) => s.enum || []);
  if (options.length) {
    const select = document.createElement("select");
    select.name = name;
    select.append(...options.map((v) => new Option(v, v)));
    if (spec.default != null) select.value = spec.default;
    return select;
  }
  if (spec.type === "boolean") {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = name;
    box.checked = Boolean(spec.default);
    return box;
  }
  if (name === "text") {
    const line = document.createElement("input");
    line.type = "text";
    line.name = name;
    line.placeholder = '"the red car" (colour mode)';
    return line;
  }
  if (name === "prompt") {
    const area = document.createElement("textarea");
    area.name = name;
    area.required = true;
    area.placeholder = 'A poster that says "Hello" at sunset';
    return area;
  }
  const input = document.createElement("input");
  input.type = "number";
  input.name = name;
  const num = { ...spec, ...((spec.anyOf || []).find((s) => s.type === "integer") || {}) };
  if (num.minimum != null) input.min = num.minimum;
  if (num.maximum != null) input.max = num.maximum;
  if (num.multipleOf != null) input.step = num.multipleOf;
  if (spec.default != null) input.value = spec.default;
  return input;
}

function sizeFields(props) {
  const preset = document.createElement("select");
  preset.name = "preset";
  preset.append(new Option("auto (1024x1024, or the first image's size)", ""), ...PRESETS.map((p) => new Option(p, p)));
  const row = document.createElement("div");
  row.className = "row";
  const width = field("width", control("width", props.width));
  const height = field("height", control("height", props.height));
  row.append(width, height);
  preset.addEventListener("change", () => {
    const [w, h] = preset.value ? preset.value.split("x") : ["", ""];
    width.querySelector("input").value = w;
    height.querySelector("input").value = h;
    checkSize();
  });
  const wrap = document.createElement("div");
  wrap.append(field("size", preset, "size"), row);
  return wrap;
}

function buildForm(schema) {
  const props = schema.properties;
  const nodes = ORDER.filter((name) => props[name]).map((name) =>
    name === "width" ? sizeFields(props) : field(name, control(name, props[name])));
  $("#fields").replaceChildren(...nodes);
  for (const name of ["width", "height"]) {
    const input = $(`#fields [name=${name}]`);
    if (input) input.addEventListener("input", checkSize);
  }
}

const fmt = (n) => n.toLocaleString("en-US");

// The same rules and words as the server (contract.py), read from the schema's x-size-rules.
function sizeError(width, height) {
  const r = state.schema["x-size-rules"];
  for (const [name, v] of [["width", width], ["height", height]]) {
    if (v < r.min_edge || v > r.max_edge) return [name, `${name} must be between ${r.min_edge} and ${r.max_edge}, got ${v}`];
    if (v % r.multiple) return [name, `${name} must be a multiple of ${r.multiple}, got ${v}`];
  }
  const long = Math.max(width, height), short = Math.min(width, height);
  if (long > r.max_ratio * short) {
    return [width >= height ? "width" : "height",
      `the long/short edge ratio must be at most ${r.max_ratio}, got ${width}x${height} (ratio ${(long / short).toFixed(2)})`];
  }
  const px = width * height;
  if (px < r.min_pixels || px > r.max_pixels) {
    return ["width", `width*height must be between ${fmt(r.min_pixels)} and ${fmt(r.max_pixels)} pixels, got ${width}x${height} = ${fmt(px)}`];
  }
  return null;
}

function checkSize() {
  for (const name of ["width", "height"]) setFieldError(name, "");
  const w = $("#fields [name=width]").value, h = $("#fields [name=height]").value;
  if (w === "" && h === "") return;
  const problem = sizeError(Number(w || 1024), Number(h || 1024));
  if (problem) setFieldError(problem[0], problem[1]);
}

function setFieldError(param, message) {
  const target = document.querySelector(`[data-error-for="${param}"]`);
  if (target) { target.textContent = message; return true; }
  return false;
}

function showError(error) {
  if (!(error.param && setFieldError(error.param, error.message))) $("#form-error").textContent = error.message;
}

const selects = () => Boolean(state.schema && state.schema.properties.mode && !state.schema.properties.prompt);

function collectInput() {
  const form = $("#form");
  const input = selects() ? {} : { prompt: form.prompt.value };
  for (const el of form.querySelectorAll("#fields select, #fields input")) {
    if (el.type === "checkbox") { if (el.checked) input[el.name] = true; continue; }
    if (el.name === "preset" || el.value === "" || el.name === "prompt") continue;
    input[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  return input;
}

// brushwork/masks takes the first reference as its image; what is painted on it says where:
// its bounding box for box mode, its middle for a point.
async function selectionInput(input) {
  if (!state.refs.length) return input;
  input.image = (await upload(state.refs[0].blob, state.refs[0].name)).uri;
  const painted = editor.painted ? editor.extent() : null;
  if (painted && input.mode === "box") input.box = painted.box;
  if (painted && input.mode === "point") input.points = [painted.centre];
  return input;
}

// ------------------------------------------------------------------ reference images

async function addFiles(files) {
  for (const file of files) {
    if (!file.type.startsWith("image/")) continue;
    const url = URL.createObjectURL(file);
    const img = await loadImage(url);
    state.refs.push({ blob: file, name: file.name || "pasted.png", url, width: img.naturalWidth, height: img.naturalHeight });
  }
  renderThumbs();
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = reject;
    img.src = url;
  });
}

function renderThumbs() {
  $("#thumbs").replaceChildren(...state.refs.map((ref, i) => {
    const figure = document.createElement("figure");
    const img = document.createElement("img");
    img.src = ref.url;
    img.alt = ref.name;
    img.title = i === 0 ? "first image: the mask applies to it" : ref.name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = "remove";
    remove.addEventListener("click", () => { state.refs.splice(i, 1); renderThumbs(); });
    figure.append(img, remove);
    return figure;
  }));
  if (state.refs.length) editor.open(state.refs[0]); else editor.close();
}

function setupDrop() {
  const drop = $("#drop");
  $("#files").addEventListener("change", (e) => addFiles(e.target.files));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });
  document.addEventListener("paste", (e) => { if (e.clipboardData.files.length) addFiles(e.clipboardData.files); });
}

// ------------------------------------------------------------------ the mask editor

const editor = {
  mask: document.createElement("canvas"),  // exactly the image's size; white = edit, black = keep
  undo: [], redo: [], painted: false, ref: null,

  open(ref) {
    if (this.ref === ref) return;
    this.ref = ref;
    $("#editor").hidden = false;
    for (const c of [$("#photo"), $("#overlay"), this.mask]) { c.width = ref.width; c.height = ref.height; }
    loadImage(ref.url).then((img) => $("#photo").getContext("2d").drawImage(img, 0, 0));
    this.clear(false);
    this.undo = []; this.redo = [];
  },
  close() { this.ref = null; $("#editor").hidden = true; },

  ctx() { return this.mask.getContext("2d", { willReadFrequently: true }); },
  snapshot() { this.undo.push(this.ctx().getImageData(0, 0, this.mask.width, this.mask.height)); if (this.undo.length > 30) this.undo.shift(); this.redo = []; },
  restore(from, to) {
    if (!from.length) return;
    to.push(this.ctx().getImageData(0, 0, this.mask.width, this.mask.height));
    this.ctx().putImageData(from.pop(), 0, 0);
    this.render();
  },
  clear(record = true) {
    if (record) this.snapshot();
    const ctx = this.ctx();
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.mask.width, this.mask.height);
    this.render();
  },
  invert() {
    this.snapshot();
    const ctx = this.ctx();
    const data = ctx.getImageData(0, 0, this.mask.width, this.mask.height);
    for (let i = 0; i < data.data.length; i += 4) {
      for (let k = 0; k < 3; k++) data.data[i + k] = 255 - data.data[i + k];
    }
    ctx.putImageData(data, 0, 0);
    this.render();
  },
  // The overlay shows the mask in red over the photo.
  render() {
    const src = this.ctx().getImageData(0, 0, this.mask.width, this.mask.height);
    const out = new ImageData(src.width, src.height);
    let any = false;
    for (let i = 0; i < src.data.length; i += 4) {
      const v = src.data[i];
      if (v) any = true;
      out.data[i] = 255; out.data[i + 3] = v;
    }
    this.painted = any;
    $("#overlay").getContext("2d").putImageData(out, 0, 0);
  },
  // Apply one drawing to the mask (in white or black) and, directly, to the overlay.
  draw(fn, erase) {
    const m = this.ctx();
    m.save(); m.fillStyle = m.strokeStyle = erase ? "#000" : "#fff"; fn(m); m.restore();
    const o = $("#overlay").getContext("2d");
    o.save();
    o.globalCompositeOperation = erase ? "destination-out" : "source-over";
    o.fillStyle = o.strokeStyle = "#f00";
    fn(o); o.restore();
    if (!erase) this.painted = true;
  },
  // Where the painting is: its bounding box [x0, y0, x1, y1] and its middle [x, y].
  extent() {
    const { data, width, height } = this.ctx().getImageData(0, 0, this.mask.width, this.mask.height);
    let x0 = width, y0 = height, x1 = -1, y1 = -1, sx = 0, sy = 0, n = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (data[(y * width + x) * 4] < 128) continue;
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        sx += x; sy += y; n++;
      }
    }
    return n ? { box: [x0, y0, x1 + 1, y1 + 1], centre: [Math.round(sx / n), Math.round(sy / n)] } : null;
  },
  async export() {
    const soft = Number($("#soft").value);
    const out = document.createElement("canvas");
    out.width = this.mask.width; out.height = this.mask.height;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    if (soft) ctx.filter = `blur(${soft}px)`;
    ctx.drawImage(this.mask, 0, 0);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  },
};

function setupEditor() {
  const overlay = $("#overlay");
  const tool = () => document.querySelector("input[name=tool]:checked").value;
  const at = (e) => {
    const box = overlay.getBoundingClientRect();
    return [(e.clientX - box.left) * overlay.width / box.width, (e.clientY - box.top) * overlay.height / box.height];
  };
  const size = () => Number($("#brush-size").value) * overlay.width / overlay.getBoundingClientRect().width;
  let start = null, last = null, path = [];
  overlay.addEventListener("pointerdown", (e) => {
    overlay.setPointerCapture(e.pointerId);
    editor.snapshot();
    start = last = at(e);
    path = [start];
    if (tool() === "brush" || tool() === "eraser") stroke(start, start);
  });
  const stroke = (a, b) => editor.draw((ctx) => {
    ctx.lineWidth = size(); ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke();
  }, tool() === "eraser");
  overlay.addEventListener("pointermove", (e) => {
    if (!start) return;
    const p = at(e);
    if (tool() === "brush" || tool() === "eraser") stroke(last, p);
    last = p;
    path.push(p);
  });
  overlay.addEventListener("pointerup", () => {
    if (!start) return;
    if (tool() === "rect") {
      const [x0, y0] = start, [x1, y1] = last;
      editor.draw((ctx) => ctx.fillRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)), false);
    } else if (tool() === "lasso" && path.length > 2) {
      editor.draw((ctx) => { ctx.beginPath(); ctx.moveTo(...path[0]); path.slice(1).forEach((p) => ctx.lineTo(...p)); ctx.closePath(); ctx.fill(); }, false);
    }
    start = null;
    editor.render();
  });
  $("#invert").addEventListener("click", () => editor.invert());
  $("#clear").addEventListener("click", () => editor.clear());
  $("#undo").addEventListener("click", () => editor.restore(editor.undo, editor.redo));
  $("#redo").addEventListener("click", () => editor.restore(editor.redo, editor.undo));
}

// ------------------------------------------------------------------ run, progress, cancel

async function run(event) {
  event.preventDefault();
  document.querySelectorAll(".error").forEach((el) => { el.textContent = ""; });
  const app = $("#app").value;
  const input = collectInput();
  $("#run").disabled = true;
  try {
    if (selects()) {
      await selectionInput(input);
    } else if (state.refs.length) {
      input.images = [];
      for (const ref of state.refs) input.images.push((await upload(ref.blob, ref.name)).uri);
      if ($("#use-mask").checked && editor.painted) input.mask = (await upload(await editor.export(), "mask.png")).uri;
    }
    const task = await api("/apps/run", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ app, input, previews: 2 }),
    });
    state.lastRequest = { app, input };
    await follow(task.id);
  } catch (error) {
    showError(error);
  } finally {
    $("#run").disabled = false;
  }
}

async function follow(taskId) {
  state.taskId = taskId;
  $("#progress").hidden = false;
  $("#previews").replaceChildren();
  $("#logs").textContent = "";
  $("#cancel").disabled = false;
  state.stream = new AbortController();
  const response = await fetch(`/tasks/${taskId}/stream`, { headers: headers(), signal: state.stream.signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", final = null;
  while (final === null) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block), data = /^data: (.*)$/m.exec(block);
      if (!event || !data) continue;
      const payload = JSON.parse(data[1]);
      if (event[1] === "done") { final = payload; break; }
      await onUpdate(payload);
    }
  }
  $("#cancel").disabled = true;
  if (final) finish(final);
}

async function onUpdate(update) {
  $("#status").textContent = update.status_name;
  $("#percent").textContent = `${update.progress}%`;
  $("#bar").value = update.progress;
  if (update.logs) $("#logs").textContent += update.logs;
  if (update.preview) {
    const img = document.createElement("img");
    img.alt = `partial ${update.preview.partial_image_index}`;
    img.src = URL.createObjectURL(await blobOf(update.preview.uri));
    $("#previews").append(img);
  }
}

function finish(task) {
  $("#status").textContent = task.status_name;
  $("#bar").value = task.progress;
  $("#percent").textContent = `${task.progress}%`;
  if (task.status === TaskStatus.COMPLETED) addResults(task, state.lastRequest);
  else if (task.error) $("#form-error").textContent = task.error.message;
  loadHistory();
}

async function cancel() {
  if (state.taskId) await api(`/tasks/${state.taskId}/cancel`, { method: "POST" });
}

// ------------------------------------------------------------------ gallery and history

async function addResults(task, request) {
  request = request || { app: task.app, input: task.input };
  const refs = task.output.images || [task.output.preview, task.output.mask, task.output.alpha_mask];
  for (const ref of refs) {
    const blob = await blobOf(ref.uri);
    const figure = document.createElement("figure");
    const img = document.createElement("img");
    img.src = URL.createObjectURL(blob);
    img.alt = ref.filename;
    img.dataset.uri = ref.uri;
    const caption = document.createElement("figcaption");
    for (const kind of ["png", "jpeg", "webp"]) caption.append(button(kind, () => download(img, kind, ref.filename)));
    caption.append(button("edit this", () => editThis(blob, ref.filename)));
    caption.append(button("copy as code", () => showCode(request)));
    figure.append(img, caption);
    $("#gallery").prepend(figure);
  }
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

async function download(img, kind, filename) {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  canvas.getContext("2d").drawImage(img, 0, 0);
  const blob = kind === filename.split(".").pop().replace("jpg", "jpeg") ? await (await fetch(img.src)).blob()
    : await new Promise((resolve) => canvas.toBlob(resolve, `image/${kind}`, 0.92));
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename.replace(/\.[a-z]+$/, `.${kind === "jpeg" ? "jpg" : kind}`);
  a.click();
}

async function editThis(blob, name) {
  const file = new File([blob], name, { type: blob.type });
  const url = URL.createObjectURL(file);
  const img = await loadImage(url);
  state.refs.unshift({ blob: file, name, url, width: img.naturalWidth, height: img.naturalHeight });
  renderThumbs();
  $("#compose").scrollIntoView();
}

const shellQuote = (text) => `'${text.replace(/'/g, "'\\''")}'`;

function showCode(request) {
  const origin = location.origin;
  const json = JSON.stringify(request.input);
  $("#code-sdk").textContent = [
    "from brushwork import inference",
    `client = inference(base_url="${origin}")  # key from BRUSHWORK_API_KEY`,
    `result = client.run(${JSON.stringify({ app: request.app, input: request.input }, null, 2)})`,
    'print([image["uri"] for image in result["output"]["images"]])',
  ].join("\n");
  $("#code-cli").textContent = `BRUSHWORK_BASE_URL=${origin} brushwork app run ${request.app} --input ${shellQuote(json)} --save out/`;
  $("#code-curl").textContent = `curl -s ${origin}/apps/run -H "Authorization: Bearer $BRUSHWORK_API_KEY" -H "Content-Type: application/json" -d ${shellQuote(JSON.stringify({ app: request.app, input: request.input, wait: true }))}`;
  $("#code-dialog").showModal();
}

async function loadHistory() {
  try {
    const { data } = await api("/tasks?limit=20");
    $("#history").replaceChildren(...data.map((task) => {
      const li = document.createElement("li");
      li.textContent = `${task.status_name.toLowerCase()} · ${task.app} · ${String(task.input.prompt ?? `select ${task.input.mode}`).slice(0, 60)}`;
      li.dataset.taskId = task.id;
      li.addEventListener("click", async () => {
        const full = await api(`/tasks/${task.id}`);
        if (full.status === TaskStatus.COMPLETED) addResults(full, { app: full.app, input: full.input });
        else if (!TaskStatus.isTerminal(full.status)) follow(full.id);
      });
      return li;
    }));
  } catch { /* no key yet */ }
}

// ------------------------------------------------------------------ start

setupKey();
setupDrop();
setupEditor();
$("#app").addEventListener("change", loadSchema);
$("#form").addEventListener("submit", run);
$("#cancel").addEventListener("click", cancel);
$("#refresh-history").addEventListener("click", loadHistory);
loadApps();
