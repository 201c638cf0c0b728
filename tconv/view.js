// Draws the precomputed entry for the current slider values. No arithmetic happens here:
// Python filled `table` ahead of time (numbers from numpy/torch), so the page needs no kernel.
// table = { blocks: [block, ...], entries: { "v0,v1,...": [block index, ...] } }; a block that
// several slider settings share is stored once, and a row block lists its blocks' indices.
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

// The highlight classes of a cell: bit c of its code is class c (a plain mask is class 0).
function classesOf(code) {
  const classes = [];
  for (let c = 0; code >> c; c++) if ((code >> c) & 1) classes.push(c);
  return classes;
}

// Highlighted cells get a translucent fill of their class's colour; a cell in several classes
// gets a diagonal stripe of each.
function highlightFill(classes, look) {
  const fill = (c) => `rgba(${look.highlight[c % look.highlight.length]}, 0.38)`;
  if (classes.length === 1) return fill(classes[0]);
  const stops = classes.map((c, n) =>
    `${fill(c)} ${(100 * n) / classes.length}% ${(100 * (n + 1)) / classes.length}%`);
  return `linear-gradient(135deg, ${stops.join(", ")})`;
}

function cell(value, code, look) {
  const td = el("td", "", format(value));
  if (value === 0) td.classList.add("tconv-zero");
  if (code) {
    const classes = classesOf(code);
    td.classList.add("tconv-hl", ...classes.map((c) => `tconv-hl-${c}`));
    td.style.background = highlightFill(classes, look);
  }
  return td;
}

// Index headers: `index` is the first index (a number) or every label (strings).
function indexLabels(index, count) {
  if (Array.isArray(index)) return index;
  return Array.from({ length: count }, (_, j) => format((index || 0) + j));
}

function headerRow(labels, corner) {
  const tr = el("tr", "tconv-index-row");
  if (corner) tr.appendChild(el("th"));
  labels.forEach((label) => tr.appendChild(el("th", "tconv-index", label)));
  return tr;
}

// Thicker lines between the blocks of a block matrix: after every `size`-th row or column.
function separated(count, size) {
  return (j) => Boolean(size) && (j + 1) % size === 0 && j + 1 < count;
}

// The drawing, followed by the names of its highlight classes in their colours (named only).
function withLegend(drawing, block, look) {
  if (!block.classes) return drawing;
  const legend = el("div", "tconv-hl-legend");
  block.classes.forEach((name, c) => {
    const item = el("span", `tconv-hl-key tconv-hl-${c}`, name);
    item.style.setProperty("--tconv-swatch", highlightFill([c], look));
    legend.appendChild(item);
  });
  const box = el("div", "tconv-with-legend");
  box.append(drawing, legend);
  return box;
}

// A 2D array as a table. Zeros are dimmed so that the band of a convolution matrix stands out;
// highlighted cells get a tinted background. Axis labels or indices add index headers.
function drawMatrix(block, look) {
  const rows = block.values;
  const columns = (rows[0] || []).length;
  const hl = block.highlight;
  const [rowLabel, colLabel] = block.labels || ["", ""];
  const labelled = Boolean(rowLabel || colLabel);
  const rowIndexed = labelled || block.row_index !== undefined;
  const colIndexed = labelled || block.col_index !== undefined;
  const [blockRows, blockColumns] = block.grid || [0, 0];
  const rowBreak = separated(rows.length, blockRows);
  const columnBreak = separated(columns, blockColumns);
  const table = el("table", "tconv-matrix");
  if (labelled) {
    const axes = [rowLabel && `rows: ${rowLabel}`, colLabel && `columns: ${colLabel}`];
    table.appendChild(el("caption", "tconv-axes", axes.filter(Boolean).join(" \u00b7 ")));
  }
  if (colIndexed) table.appendChild(headerRow(indexLabels(block.col_index, columns), rowIndexed));
  const rowLabels = rowIndexed ? indexLabels(block.row_index, rows.length) : null;
  rows.forEach((values, i) => {
    const tr = el("tr");
    if (rowBreak(i)) tr.classList.add("tconv-sep-row");
    if (rowLabels) tr.appendChild(el("th", "tconv-index", rowLabels[i]));
    values.forEach((v, j) => {
      const td = cell(v, hl && hl[i][j], look);
      if (columnBreak(j)) td.classList.add("tconv-sep-col");
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  return withLegend(table, block, look);
}

function drawVector(block, look) {
  const values = block.values;
  const table = el("table", "tconv-matrix tconv-vector");
  if (block.index !== undefined) table.appendChild(headerRow(indexLabels(block.index, values.length)));
  const columnBreak = separated(values.length, (block.grid || [0])[0]);
  const tr = el("tr");
  values.forEach((v, j) => {
    const td = cell(v, block.highlight && block.highlight[j], look);
    if (columnBreak(j)) td.classList.add("tconv-sep-col");
    tr.appendChild(td);
  });
  table.appendChild(tr);
  return withLegend(table, block, look);
}

// Heat-map shade: blue for positive, red for negative values, stronger with |value|.
function heatColour(value, scale) {
  const t = scale ? Math.min(1, Math.abs(value) / scale) : 0;
  const [r, g, b] = value >= 0 ? [31, 119, 180] : [214, 39, 40];
  return `rgba(${r}, ${g}, ${b}, ${(0.85 * t).toFixed(3)})`;
}

// A 2D array as shaded cells, painted on one canvas: heat maps have hundreds of cells, and as
// DOM nodes their layout alone would take most of a frame. The numbers are also in the canvas's
// aria-label and in each cell's tooltip; highlighted cells get a frame in their class's colour
// (nested frames for a cell in several classes).
function drawHeatmap(block, look) {
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
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${rows.length} by ${columns} heat map: ` +
    labels.map((row) => row.join(" ")).join("; "));
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const scale = Math.max(0, ...rows.flat().map(Math.abs));
  ctx.font = "11px monospace";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  if (!look.text) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, columns * cw, rows.length * ch);
  }
  rows.forEach((row, i) => row.forEach((v, j) => {
    ctx.fillStyle = heatColour(v, scale);
    ctx.fillRect(j * cw, i * ch, cw, ch);
    ctx.strokeStyle = "rgba(128, 128, 128, 0.45)";
    ctx.lineWidth = 0.5;
    ctx.strokeRect(j * cw + 0.25, i * ch + 0.25, cw, ch);
    const code = block.highlight && block.highlight[i][j];
    classesOf(code || 0).forEach((c, n) => {
      ctx.strokeStyle = `rgb(${look.highlight[c % look.highlight.length]})`;
      ctx.lineWidth = 2;
      ctx.strokeRect(j * cw + 1.5 + 2 * n, i * ch + 1.5 + 2 * n, cw - 3 - 4 * n, ch - 3 - 4 * n);
    });
    if (block.show_values) {
      ctx.fillStyle = look.text || "#222";
      ctx.fillText(labels[i][j], j * cw + cw / 2, i * ch + ch / 2 + 0.5);
    }
  }));
  canvas.addEventListener("mousemove", (event) => {
    const j = Math.floor(event.offsetX / cw), i = Math.floor(event.offsetY / ch);
    canvas.title = i < rows.length && j < columns ? `[${i}, ${j}] = ${labels[i][j]}` : "";
  });
  return withLegend(canvas, block, look);
}

// Line or stem plot with a zero axis, y ticks (marks and labels at the lowest value, 0 and the
// highest), integer x ticks and a legend. `highlight` {name: 1} emphasises a whole series and
// dims the others; {name: [i, ...]} rings single points.
function drawPlot(block, look) {
  const names = Object.keys(block.series);
  const all = names.flatMap((n) => block.series[n]);
  const len = Math.max(1, ...names.map((n) => block.series[n].length));
  const lo = Math.min(0, ...all);
  const hi = Math.max(0, ...all);
  const highlight = block.highlight || {};
  const emphasised = names.filter((n) => highlight[n] === 1);
  const W = 420, H = 180, left = 40, right = 10, top = 10, bottom = 24;
  const x = (i) => left + (len === 1 ? (W - left - right) / 2 : (i * (W - left - right)) / (len - 1));
  const y = (v) => top + (1 - (v - lo) / (hi - lo || 1)) * (H - top - bottom);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "tconv-plot", role: "img" });
  svg.appendChild(svgEl("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "tconv-axis-line" }));
  svg.appendChild(svgEl("line", { x1: left, x2: left, y1: top, y2: H - bottom, class: "tconv-axis-line" }));
  for (const v of new Set([lo, 0, hi])) {
    const tick = svgEl("g", { class: "tconv-ytick" });
    tick.appendChild(svgEl("line", { x1: left - 3, x2: left, y1: y(v), y2: y(v), class: "tconv-axis-line" }));
    const label = svgEl("text", { x: left - 5, y: y(v) + 4, "text-anchor": "end", class: "tconv-tick" });
    label.textContent = format(v);
    tick.appendChild(label);
    svg.appendChild(tick);
  }
  const every = Math.ceil(len / 12);
  for (let i = 0; i < len; i += every) {
    const label = svgEl("text", { x: x(i), y: H - 6, "text-anchor": "middle", class: "tconv-tick" });
    label.textContent = format((block.index || 0) + i);
    svg.appendChild(label);
  }
  names.forEach((name, s) => {
    const colour = PALETTE[s % PALETTE.length];
    const values = block.series[name];
    const group = svgEl("g", { stroke: colour, fill: colour, class: "tconv-series" });
    group.dataset.series = name;
    if (emphasised.length) group.classList.add(emphasised.includes(name) ? "tconv-series-hl" : "tconv-series-dim");
    const dx = block.style === "stem" && names.length > 1 ? (s - (names.length - 1) / 2) * 3 : 0;
    if (block.style === "stem") {  // series side by side
      values.forEach((v, i) => group.appendChild(
        svgEl("line", { x1: x(i) + dx, x2: x(i) + dx, y1: y(0), y2: y(v), "stroke-width": 2 })));
    } else {
      const points = values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
      group.appendChild(svgEl("polyline", { points, fill: "none", "stroke-width": 2, "stroke-dasharray": s ? "5 3" : "none" }));
    }
    values.forEach((v, i) => group.appendChild(
      svgEl("circle", { cx: x(i) + dx, cy: y(v), r: block.style === "stem" ? 3 : 2.5, class: "tconv-point" })));
    if (Array.isArray(highlight[name])) {
      highlight[name].forEach((i) => group.appendChild(
        svgEl("circle", { cx: x(i) + dx, cy: y(values[i]), r: 6, class: "tconv-point-hl",
          stroke: `rgb(${look.highlight[0]})` })));
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

// Blocks side by side on a line of their own; `items` are indices into the table's blocks.
function drawRow(block, look) {
  const line = el("div", "tconv-row");
  block.items.forEach((i) => line.appendChild(drawBlock(look.blocks[i], look)));
  return line;
}

const DRAW = {
  matrix: drawMatrix,
  vector: drawVector,
  heatmap: drawHeatmap,
  plot: drawPlot,
  text: (block) => el("div", "tconv-text", block.text),
};

function drawBlock(block, look) {
  if (block.kind === "row") return drawRow(block, look);
  const box = el("figure", `tconv-block tconv-${block.kind}-block`);
  if (block.key) box.dataset.key = block.key;
  if (block.title) box.appendChild(el("figcaption", "tconv-title", block.title));
  const draw = DRAW[block.kind] || ((b) => el("div", "tconv-text", `unknown block kind ${b.kind}`));
  box.appendChild(draw(block, look));
  return box;
}

function currentKey(model) {
  const parts = [];
  for (let i = 0; i < model.get("n_params"); i++) parts.push(String(model.get("v" + i)));
  return parts.join(",");
}

// Text of the caption blocks, row blocks included, for the screen-reader status line.
function captions(blocks, all) {
  return blocks.flatMap((b) => b.kind === "row" ? captions(b.items.map((i) => all[i]), all)
    : b.kind === "text" ? [b.text] : []);
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
    const look = {
      blocks: table.blocks,
      highlight: model.get("highlight_colours"),  // "r, g, b" of each highlight class
      // Canvas text follows the page's text colour; a view not yet in the page (JupyterLab may
      // render before attaching) has none, and its heat maps get a white ground and dark text.
      text: (root.isConnected && getComputedStyle(root).color) || null,
    };
    return {
      nodes: blocks.map((b) => drawBlock(b, look)),
      summary: captions(blocks, table.blocks).join(" "),
    };
  };
  const redraw = () => {
    const key = currentKey(model);
    if (!drawn.has(key)) drawn.set(key, draw(key));
    const { nodes, summary } = drawn.get(key);
    body.replaceChildren(...nodes);
    status.textContent = summary;
    root.dataset.setting = key;  // what is drawn now: tests wait for it
  };
  // One trait per slider, v0 … v{n_params - 1} (Python makes as many as MAX_PARAMS allows).
  let listening = 0;
  const listen = () => {
    for (; listening < model.get("n_params"); listening++) model.on(`change:v${listening}`, redraw);
  };
  listen();
  model.on("change:n_params", () => {
    listen();
    redraw();
  });
  model.on("change:table", () => {
    drawn = new Map();
    redraw();
  });
  redraw();
}

export default { render };
