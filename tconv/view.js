// Draws the precomputed entry for the current slider values. No computation happens here:
// Python filled `table` ahead of time, so the page needs no kernel.
function key(model) {
  const n = model.get("n_params");
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(String(model.get("v" + i)));
  return parts.join(",");
}

function cell(value, strong) {
  const td = document.createElement("td");
  td.textContent = String(value);
  if (strong) td.className = "tconv-hl";
  return td;
}

function drawTable(rows, highlight) {
  const table = document.createElement("table");
  table.className = "tconv-matrix";
  rows.forEach((row, i) => {
    const tr = document.createElement("tr");
    row.forEach((v, j) => tr.appendChild(cell(v, highlight && highlight[i][j])));
    table.appendChild(tr);
  });
  return table;
}

function drawPlot(series) {
  const ns = "http://www.w3.org/2000/svg";
  const names = Object.keys(series);
  const all = names.flatMap((n) => series[n]);
  const len = Math.max(1, ...names.map((n) => series[n].length));
  const lo = Math.min(0, ...all), hi = Math.max(0, ...all);
  const W = 360, H = 140, pad = 10;
  const x = (i) => pad + (len === 1 ? 0 : (i * (W - 2 * pad)) / (len - 1));
  const y = (v) => H - pad - ((v - lo) / (hi - lo || 1)) * (H - 2 * pad);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "tconv-plot");
  names.forEach((name, s) => {
    const path = document.createElementNS(ns, "polyline");
    path.setAttribute("points", series[name].map((v, i) => `${x(i)},${y(v)}`).join(" "));
    path.setAttribute("class", "tconv-series tconv-series-" + s);
    const title = document.createElementNS(ns, "title");
    title.textContent = name;
    path.appendChild(title);
    svg.appendChild(path);
  });
  return svg;
}

function drawBlock(block) {
  const box = document.createElement("div");
  box.className = "tconv-block";
  if (block.title) {
    const h = document.createElement("div");
    h.className = "tconv-title";
    h.textContent = block.title;
    box.appendChild(h);
  }
  if (block.kind === "matrix") box.appendChild(drawTable(block.values, block.highlight));
  else if (block.kind === "vector")
    box.appendChild(drawTable([block.values], block.highlight && [block.highlight]));
  else if (block.kind === "plot") box.appendChild(drawPlot(block.series));
  else if (block.kind === "text") box.appendChild(document.createTextNode(block.text));
  return box;
}

function render({ model, el }) {
  el.classList.add("tconv-view");
  const redraw = () => {
    const entry = model.get("table")[key(model)];
    const blocks = entry || [{ kind: "text", text: "no precomputed result for these values" }];
    el.replaceChildren(...blocks.map(drawBlock));
  };
  for (let i = 0; i < 8; i++) model.on("change:v" + i, redraw);
  model.on("change:table", redraw);
  redraw();
}

export default { render };
