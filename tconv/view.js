// Draws the precomputed entry for the current slider values. No arithmetic happens here:
// Python filled `table` ahead of time (numbers from numpy/torch), so the page needs no kernel.
// table = { blocks: [block, ...], entries: { "v0,v1,...": [block index, ...] } }; a block that
// several slider settings share is stored once.
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function format(value) {
  if (Number.isInteger(value)) return String(value).replace("-", "\u2212");
  return String(Number(value.toPrecision(4))).replace("-", "\u2212");
}

function cell(tag, value, strong) {
  const td = el(tag, "", format(value));
  if (value === 0) td.classList.add("tconv-zero");
  if (strong) td.classList.add("tconv-hl");
  return td;
}

// A 2D array as a table. Zeros are dimmed so that the band of a convolution matrix stands out;
// highlighted cells get a tinted background. Axis labels add index headers.
function drawMatrix(block) {
  const rows = block.values;
  const hl = block.highlight;
  const [rowLabel, colLabel] = block.labels || ["", ""];
  const indexed = Boolean(rowLabel || colLabel);
  const table = el("table", "tconv-matrix");
  if (indexed) {
    const axes = [rowLabel && `rows: ${rowLabel}`, colLabel && `columns: ${colLabel}`];
    table.appendChild(el("caption", "tconv-axes", axes.filter(Boolean).join(" \u00b7 ")));
    const head = el("tr");
    head.appendChild(el("th"));
    (rows[0] || []).forEach((_, j) => head.appendChild(el("th", "tconv-index", String(j))));
    table.appendChild(head);
  }
  rows.forEach((row, i) => {
    const tr = el("tr");
    if (indexed) tr.appendChild(el("th", "tconv-index", String(i)));
    row.forEach((v, j) => tr.appendChild(cell("td", v, hl && hl[i][j])));
    table.appendChild(tr);
  });
  return table;
}

function drawVector(block) {
  const table = el("table", "tconv-matrix tconv-vector");
  const tr = el("tr");
  block.values.forEach((v, j) => tr.appendChild(cell("td", v, block.highlight && block.highlight[j])));
  table.appendChild(tr);
  return table;
}

// Heat-map shade: blue for positive, red for negative values, stronger with |value|.
function heatColour(value, scale) {
  const t = scale ? Math.min(1, Math.abs(value) / scale) : 0;
  const [r, g, b] = value >= 0 ? [31, 119, 180] : [214, 39, 40];
  return `rgba(${r}, ${g}, ${b}, ${(0.85 * t).toFixed(3)})`;
}

// A 2D array as shaded cells, painted on one canvas: heat maps have hundreds of cells, and as
// DOM nodes their layout alone would take most of a frame. The numbers stay in the page as
// data-values (and in the cells' tooltip), highlighted cells get an orange frame.
function drawHeatmap(block, colour) {
  const rows = block.values;
  const columns = (rows[0] || []).length;
  const labels = rows.map((row) => row.map(format));
  const widest = Math.max(1, ...labels.flat().map((t) => t.length));
  const cw = block.show_values ? Math.max(22, 7 * widest + 9) : 18;
  const ch = block.show_values ? 20 : 18;
  const canvas = el("canvas", "tconv-heatmap");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.ceil(columns * cw * ratio) + 1;
  canvas.height = Math.ceil(rows.length * ch * ratio) + 1;
  canvas.style.width = `${columns * cw}px`;
  canvas.style.height = `${rows.length * ch}px`;
  canvas.dataset.values = JSON.stringify(rows);
  if (block.highlight) canvas.dataset.highlight = JSON.stringify(block.highlight);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${rows.length} by ${columns} heat map: ` +
    labels.map((row) => row.join(" ")).join("; "));
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const scale = Math.max(0, ...rows.flat().map(Math.abs));
  ctx.font = "11px monospace";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  if (!colour) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, columns * cw, rows.length * ch);
  }
  rows.forEach((row, i) => row.forEach((v, j) => {
    ctx.fillStyle = heatColour(v, scale);
    ctx.fillRect(j * cw, i * ch, cw, ch);
    ctx.strokeStyle = "rgba(128, 128, 128, 0.45)";
    ctx.lineWidth = 0.5;
    ctx.strokeRect(j * cw + 0.25, i * ch + 0.25, cw, ch);
    if (block.highlight && block.highlight[i][j]) {
      ctx.strokeStyle = "#ffb000";
      ctx.lineWidth = 2;
      ctx.strokeRect(j * cw + 1.5, i * ch + 1.5, cw - 3, ch - 3);
    }
    if (block.show_values) {
      ctx.fillStyle = colour || "#222";
      ctx.fillText(labels[i][j], j * cw + cw / 2, i * ch + ch / 2 + 0.5);
    }
  }));
  canvas.addEventListener("mousemove", (event) => {
    const j = Math.floor(event.offsetX / cw), i = Math.floor(event.offsetY / ch);
    canvas.title = i < rows.length && j < columns ? `[${i}, ${j}] = ${labels[i][j]}` : "";
  });
  return canvas;
}

// Line or stem plot with a zero axis, y range ticks, integer x ticks and a legend.
function drawPlot(block) {
  const names = Object.keys(block.series);
  const all = names.flatMap((n) => block.series[n]);
  const len = Math.max(1, ...names.map((n) => block.series[n].length));
  const lo = Math.min(0, ...all);
  const hi = Math.max(0, ...all);
  const W = 420, H = 180, left = 40, right = 10, top = 10, bottom = 24;
  const x = (i) => left + (len === 1 ? (W - left - right) / 2 : (i * (W - left - right)) / (len - 1));
  const y = (v) => top + (1 - (v - lo) / (hi - lo || 1)) * (H - top - bottom);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "tconv-plot", role: "img" });
  svg.appendChild(svgEl("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "tconv-axis-line" }));
  svg.appendChild(svgEl("line", { x1: left, x2: left, y1: top, y2: H - bottom, class: "tconv-axis-line" }));
  for (const v of new Set([lo, 0, hi])) {
    const label = svgEl("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", class: "tconv-tick" });
    label.textContent = format(v);
    svg.appendChild(label);
  }
  const every = Math.ceil(len / 12);
  for (let i = 0; i < len; i += every) {
    const label = svgEl("text", { x: x(i), y: H - 6, "text-anchor": "middle", class: "tconv-tick" });
    label.textContent = String(i);
    svg.appendChild(label);
  }
  names.forEach((name, s) => {
    const colour = PALETTE[s % PALETTE.length];
    const values = block.series[name];
    const group = svgEl("g", { stroke: colour, fill: colour });
    if (block.style === "stem") {
      const dx = names.length > 1 ? (s - (names.length - 1) / 2) * 3 : 0;  // side by side
      values.forEach((v, i) => {
        group.appendChild(svgEl("line", { x1: x(i) + dx, x2: x(i) + dx, y1: y(0), y2: y(v), "stroke-width": 2 }));
        group.appendChild(svgEl("circle", { cx: x(i) + dx, cy: y(v), r: 3 }));
      });
    } else {
      const points = values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
      group.appendChild(svgEl("polyline", { points, fill: "none", "stroke-width": 2, "stroke-dasharray": s ? "5 3" : "none" }));
      values.forEach((v, i) => group.appendChild(svgEl("circle", { cx: x(i), cy: y(v), r: 2.5 })));
    }
    const title = svgEl("title");
    title.textContent = name;
    group.appendChild(title);
    svg.appendChild(group);
  });
  const box = el("div", "tconv-plot-box");
  box.appendChild(svg);
  if (names.length > 1 || block.legend) {
    const legend = el("div", "tconv-legend");
    names.forEach((name, s) => {
      const item = el("span", "tconv-legend-item", name);
      item.style.setProperty("--tconv-swatch", PALETTE[s % PALETTE.length]);
      legend.appendChild(item);
    });
    box.appendChild(legend);
  }
  return box;
}

const DRAW = {
  matrix: drawMatrix,
  vector: drawVector,
  heatmap: drawHeatmap,
  plot: drawPlot,
  text: (block) => el("div", "tconv-text", block.text),
};

function drawBlock(block, colour) {
  const box = el("figure", `tconv-block tconv-${block.kind}-block`);
  if (block.key) box.dataset.key = block.key;
  if (block.title) box.appendChild(el("figcaption", "tconv-title", block.title));
  const draw = DRAW[block.kind] || ((b) => el("div", "tconv-text", `unknown block kind ${b.kind}`));
  box.appendChild(draw(block, colour));
  return box;
}

function currentKey(model) {
  const parts = [];
  for (let i = 0; i < model.get("n_params"); i++) parts.push(String(model.get("v" + i)));
  return parts.join(",");
}

function render({ model, el: root }) {
  root.classList.add("tconv-view");
  root.dataset.explorer = model.get("name") || "";
  root.dataset.params = (model.get("params") || []).join(",");
  // Screen readers hear the captions of each new setting, not the whole redrawn view.
  const status = el("div", "tconv-status");
  status.setAttribute("aria-live", "polite");
  const body = el("div", "tconv-body");
  root.replaceChildren(status, body);
  // Rendered settings are kept, so going back to one only re-attaches its nodes.
  let drawn = new Map();
  const draw = (key) => {
    const table = model.get("table");
    const indices = (table.entries || {})[key];
    const blocks = indices
      ? indices.map((i) => table.blocks[i])
      : [{ kind: "text", text: `no precomputed result for (${key})` }];
    const captions = blocks.filter((b) => b.kind === "text").map((b) => b.text);
    // Canvas text follows the page's text colour; a view not yet in the page (JupyterLab may
    // render before attaching) has none, and its heat maps get a white ground and dark text.
    const colour = (root.isConnected && getComputedStyle(root).color) || null;
    return { nodes: blocks.map((b) => drawBlock(b, colour)), summary: captions.join(" ") };
  };
  const redraw = () => {
    const key = currentKey(model);
    if (!drawn.has(key)) drawn.set(key, draw(key));
    const { nodes, summary } = drawn.get(key);
    body.replaceChildren(...nodes);
    status.textContent = summary;
  };
  for (let i = 0; i < 8; i++) model.on("change:v" + i, redraw);
  model.on("change:table", () => {
    drawn = new Map();
    redraw();
  });
  redraw();
}

export default { render };
