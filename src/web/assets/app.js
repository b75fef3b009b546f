// kforge dashboard (docs/dashboard.md): a page over the JSON API under /api/. Everything it
// shows from a run (code, replies, names, messages) goes into the DOM as text, never as HTML.
"use strict";

const VERDICT_COLORS = {
  ok: "#1a9850", wrong_answer: "#d73027", compile_error: "#f08c00", runtime_error: "#b2182b",
  crash: "#7f0000", timeout: "#8e44ad", static_violation: "#c27c0e",
  sandbox_violation: "#5e3c99", suspicious: "#e7298a",
};
const ISLAND_COLORS = ["#2f6fde", "#e8590c", "#2b8a3e", "#ae3ec9", "#0c8599", "#c92a2a",
                       "#5c940d", "#364fc7"];
const POLL_MS = 2000;
const state = { route: null, summary: null, timer: null, opts: { x: "evaluation", color: "verdict" },
                page: { offset: 0, sort: "speedup", verdict: "" } };

// ---- DOM helpers: text only -------------------------------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") e.addEventListener("click", v);
    else if (k === "text") e.textContent = v;
    else if (k === "style") e.style.cssText = v;  // CSSOM: allowed by the page's CSP
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}
const SVGNS = "http://www.w3.org/2000/svg";
function sv(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v;
    else if (k === "style") e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  if (parent) parent.append(e);
  return e;
}
function tip(node, text) { sv("title", { text }, node); }
const fmt = (x, d = 2) => (x == null || !isFinite(x) ? "–" : Number(x).toFixed(d));
const fmtX = (x) => (x > 0 ? fmt(x) + "x" : "–");
const fmtMs = (x) => (x > 0 ? (x < 0.1 ? fmt(x, 4) : x < 10 ? fmt(x, 3) : fmt(x, 1)) + " ms" : "–");
function fmtDur(s) {
  s = Math.round(s || 0);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
function compact(x) { return x >= 1000 ? fmt(x / 1000, 0) + "k" : x >= 100 ? fmt(x, 0) : fmt(x, 1); }
function verdictTag(v) { return el("span", { class: "verdict " + v, text: v }); }
function enc(s) { return encodeURIComponent(s); }

async function api(path) {
  const res = await fetch("/api/" + path, { cache: "no-store" });
  let body;
  try { body = await res.json(); } catch (e) { throw new Error(`${res.status}: not JSON`); }
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

// ---- Scales and axes --------------------------------------------------------------------
function scale(d0, d1, r0, r1, log) {
  if (log) {
    const l0 = Math.log10(d0), l1 = Math.log10(d1);
    const f = (x) => r0 + ((Math.log10(Math.max(x, d0)) - l0) / (l1 - l0 || 1)) * (r1 - r0);
    f.ticks = () => { const t = []; for (let p = Math.floor(l0); p <= Math.ceil(l1); p++) t.push(10 ** p);
                      return t.filter((x) => x >= d0 * 0.999 && x <= d1 * 1.001); };
    return f;
  }
  const f = (x) => r0 + ((x - d0) / (d1 - d0 || 1)) * (r1 - r0);
  f.ticks = (n = 5) => {
    const span = d1 - d0 || 1, step0 = span / n, mag = 10 ** Math.floor(Math.log10(step0));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) || step0;
    const t = []; for (let x = Math.ceil(d0 / step) * step; x <= d1 + 1e-9; x += step) t.push(+x.toPrecision(12));
    return t;
  };
  return f;
}
function tickLabel(x) {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(0);
  return String(+x.toPrecision(3));
}
function chartFrame(svg, W, H, m, xs, ys, xlabel, ylabel) {
  const g = sv("g", { class: "axis" }, svg);
  for (const t of ys.ticks()) {
    sv("line", { class: "gridline", x1: m.l, x2: W - m.r, y1: ys(t), y2: ys(t) }, g);
    sv("text", { x: m.l - 6, y: ys(t) + 4, "text-anchor": "end", text: tickLabel(t) }, g);
  }
  for (const t of xs.ticks()) {
    sv("line", { x1: xs(t), x2: xs(t), y1: H - m.b, y2: H - m.b + 4 }, g);
    sv("text", { x: xs(t), y: H - m.b + 16, "text-anchor": "middle", text: tickLabel(t) }, g);
  }
  sv("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, g);
  sv("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, g);
  sv("text", { x: (m.l + W - m.r) / 2, y: H - 4, "text-anchor": "middle", text: xlabel }, g);
  sv("text", { x: 12, y: (m.t + H - m.b) / 2, transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`,
               "text-anchor": "middle", text: ylabel }, g);
}
function legend(items) {
  return el("div", { class: "legend" }, ...items.map(([c, t]) => el("span", {}, el("i", { style: `background:${c}` }), t)));
}
function speedColor(s, max) {
  if (!(s > 0)) return "#bbb";
  const t = Math.max(0, Math.min(1, Math.log(s) / Math.log(Math.max(max, 1.01)) * 0.5 + 0.5));
  const r = Math.round(215 - t * 189), g = Math.round(48 + t * 104), b = Math.round(39 + t * 41);
  return `rgb(${r},${g},${b})`;
}
function go(hash) { location.hash = hash; }

// ---- Charts -----------------------------------------------------------------------------
function progressChart(p, xkey) {
  const W = 620, H = 260, m = { l: 52, r: 16, t: 12, b: 36 };
  const svg = sv("svg", { id: "chart-progress", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const xi = xkey === "seconds" ? 1 : 0;
  const all = p.best.concat(...p.islands.map((i) => i.steps));
  const xmax = Math.max(xkey === "seconds" ? p.seconds : p.evaluations, 1, ...all.map((q) => q[xi]));
  const ymax = Math.max(1.1, ...all.map((q) => q[2])) * 1.08;
  const xs = scale(0, xmax, m.l, W - m.r), ys = scale(0, ymax, H - m.b, m.t);
  chartFrame(svg, W, H, m, xs, ys, xkey === "seconds" ? "seconds since start" : "evaluations", "best speedup (x)");
  sv("line", { x1: m.l, x2: W - m.r, y1: ys(1), y2: ys(1), stroke: "#999", "stroke-dasharray": "3 3" }, svg);
  const stepPath = (pts) => {
    if (!pts.length) return "";
    let d = `M${xs(pts[0][xi])},${ys(pts[0][2])}`;
    for (let i = 1; i < pts.length; i++) d += `H${xs(pts[i][xi])}V${ys(pts[i][2])}`;
    return d + `H${xs(xmax)}`;
  };
  if (p.islands.length > 1) {
    p.islands.forEach((isl, k) => sv("path", { d: stepPath(isl.steps), fill: "none",
      stroke: ISLAND_COLORS[k % ISLAND_COLORS.length], "stroke-width": 1.2, opacity: 0.7,
      class: "island-line" }, svg));
  }
  sv("path", { d: stepPath(p.best), fill: "none", stroke: "#111", "stroke-width": 2, class: "best-line" }, svg);
  for (const q of p.best) {
    const c = sv("circle", { class: "node", cx: xs(q[xi]), cy: ys(q[2]), r: 3.5, fill: "#111", "data-id": q[3] }, svg);
    tip(c, `#${q[3]}: ${fmtX(q[2])} at evaluation ${q[0]}, ${fmtDur(q[1])}`);
    c.addEventListener("click", () => go(`#/run/${enc(state.route.run)}/c/${q[3]}`));
  }
  return svg;
}

function lineageChart(l, colorBy) {
  const nodes = l.nodes;  // [id, parent, island, verdict, speedup, depth, origin, best_path]
  const islands = [...new Set(nodes.map((n) => n[2]))].sort((a, b) => a - b);
  const maxDepth = Math.max(1, ...nodes.map((n) => n[5]));
  const band = Math.max(90, Math.min(220, 40 + maxDepth * 12));
  const W = 1200, m = { l: 70, r: 16, t: 12, b: 30 }, H = m.t + m.b + band * islands.length;
  const svg = sv("svg", { id: "chart-lineage", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  // x: the order judged, by rank among the nodes shown (a window of recent candidates plus the
  // best's older ancestors would otherwise crowd into one edge).
  const xs = scale(-1, nodes.length, m.l, W - m.r);
  const yOf = (island, depth) => m.t + islands.indexOf(island) * band + 10 + (depth / maxDepth) * (band - 20);
  const pos = new Map(nodes.map((n, i) => [n[0], [xs(i), yOf(n[2], n[5])]]));
  islands.forEach((isl, k) => {
    const y0 = m.t + k * band;
    sv("rect", { x: m.l, y: y0, width: W - m.l - m.r, height: band, fill: k % 2 ? "#fafbfc" : "#fff" }, svg);
    sv("text", { x: m.l - 8, y: y0 + band / 2, "text-anchor": "end", text: `island ${isl}` }, svg);
  });
  const maxS = Math.max(1, ...nodes.map((n) => n[4]));
  const edges = sv("g", {}, svg);
  const bestPath = new Set(nodes.filter((n) => n[7]).map((n) => n[0]));
  for (const n of nodes) {
    const a = pos.get(n[1]), b = pos.get(n[0]);
    if (!a || !b) continue;
    const onBest = bestPath.has(n[0]) && bestPath.has(n[1]);
    sv("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: onBest ? "#111" : "#c5cad3",
                 "stroke-width": onBest ? 2 : 0.7, class: onBest ? "best-edge" : "edge" }, edges);
  }
  for (const [step, cand, from, to] of l.migrations) {
    const a = pos.get(cand);
    if (!a || islands.indexOf(to) < 0) continue;
    const y = m.t + islands.indexOf(to) * band + band / 2;
    const line = sv("line", { x1: a[0], y1: a[1], x2: a[0] + 8, y2: y, stroke: "#5e3c99",
      "stroke-dasharray": "4 3", "stroke-width": 1.2, class: "migration" }, svg);
    tip(line, `#${cand} migrated from island ${from} to island ${to} (step ${step})`);
  }
  for (const n of nodes) {
    const [x, y] = pos.get(n[0]);
    const fill = colorBy === "speedup" ? speedColor(n[3] === "ok" ? n[4] : 0, maxS) : (VERDICT_COLORS[n[3]] || "#999");
    const c = sv("circle", { class: "node", cx: x, cy: y, r: n[7] ? 5 : 3.5, fill, "data-id": n[0],
                             "data-verdict": n[3], stroke: n[7] ? "#111" : "none" }, svg);
    tip(c, `#${n[0]} ${n[3]}${n[3] === "ok" ? " " + fmtX(n[4]) : ""} · ${n[6]} · parent ${n[1] || "none"} · island ${n[2]}`);
    c.addEventListener("click", () => go(`#/run/${enc(state.route.run)}/c/${n[0]}`));
  }
  return svg;
}

function gridChart(g) {
  const wrap = el("div", { id: "chart-grid" });
  if (!g.features.length) return wrap;
  const fx = g.features[0], fy = g.features[1] || { metric: "(none)", bins: 1, min: 0, max: 1 };
  const islands = [...new Set(g.cells.map((c) => c.island))].sort((a, b) => a - b);
  const maxS = Math.max(1, ...g.cells.map((c) => c.speedup));
  const cell = 34, m = { l: 44, t: 22, b: 40, r: 8 };
  for (const isl of islands.length ? islands : [0]) {
    const W = m.l + m.r + fx.bins * cell, H = m.t + m.b + fy.bins * cell;
    const svg = sv("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "grid-island", style: "display:inline-block;margin-right:14px" });
    sv("text", { x: m.l, y: 14, text: `island ${isl}` }, svg);
    for (let i = 0; i < fx.bins; i++) for (let j = 0; j < fy.bins; j++) {
      sv("rect", { x: m.l + i * cell, y: m.t + (fy.bins - 1 - j) * cell, width: cell - 2, height: cell - 2, fill: "#f1f3f5" }, svg);
    }
    for (const c of g.cells.filter((q) => q.island === isl)) {
      const i = c.cell[0], j = c.cell[1] || 0;
      const r = sv("rect", { class: "node elite", x: m.l + i * cell, y: m.t + (fy.bins - 1 - j) * cell, width: cell - 2,
                             height: cell - 2, fill: speedColor(c.speedup, maxS), "data-id": c.id }, svg);
      tip(r, `#${c.id}: ${fmtX(c.speedup)} (${c.count} programs in this cell)`);
      r.addEventListener("click", () => go(`#/run/${enc(state.route.run)}/c/${c.id}`));
      sv("text", { x: m.l + i * cell + cell / 2 - 1, y: m.t + (fy.bins - 1 - j) * cell + cell / 2 + 3,
                   "text-anchor": "middle", style: "fill:#fff;font-size:9px;pointer-events:none", text: compact(c.speedup) }, svg);
    }
    sv("text", { x: m.l + (fx.bins * cell) / 2, y: H - 8, "text-anchor": "middle", text: `${fx.metric} (${tickLabel(fx.min)}–${tickLabel(fx.max)})` }, svg);
    sv("text", { x: 12, y: m.t + (fy.bins * cell) / 2, transform: `rotate(-90 12 ${m.t + (fy.bins * cell) / 2})`,
                 "text-anchor": "middle", text: `${fy.metric}` }, svg);
    wrap.append(svg);
  }
  return wrap;
}

function rooflineChart(r) {
  const W = 620, H = 300, m = { l: 60, r: 16, t: 12, b: 38 };
  const svg = sv("svg", { id: "chart-roofline", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const pts = r.points;  // [id, island, speedup, time_ms, intensity, gflops, gbps, fraction]
  const flopTask = pts.some((q) => q[4] > 0 && q[5] > 0);
  const best = pts.reduce((a, q) => (!a || q[2] > a[2] ? q : a), null);
  const dot = (x, y, q) => {
    const c = sv("circle", { class: "node", cx: x, cy: y, r: q === best ? 5 : 3.5, fill: q === best ? "#111" : ISLAND_COLORS[q[1] % ISLAND_COLORS.length],
                             opacity: 0.8, "data-id": q[0] }, svg);
    tip(c, `#${q[0]}: ${fmtX(q[2])}, ${fmtMs(q[3])}, ${fmt(q[5], 1)} GFLOP/s, ${fmt(q[6], 1)} GB/s, ${fmt(100 * q[7], 0)}% of the roof`);
    c.addEventListener("click", () => go(`#/run/${enc(state.route.run)}/c/${q[0]}`));
  };
  if (flopTask) {
    const xsVals = pts.filter((q) => q[4] > 0).map((q) => q[4]);
    const ridge = r.peak_gbps > 0 ? r.peak_gflops / r.peak_gbps : 1;
    const x0 = Math.min(...xsVals, ridge) / 4, x1 = Math.max(...xsVals, ridge) * 4;
    const y1 = Math.max(r.peak_gflops, ...pts.map((q) => q[5])) * 2;
    const y0 = Math.max(1e-3, Math.min(...pts.filter((q) => q[5] > 0).map((q) => q[5]), r.peak_gbps * x0) / 4);
    const xs = scale(x0, x1, m.l, W - m.r, true), ys = scale(y0, y1, H - m.b, m.t, true);
    chartFrame(svg, W, H, m, xs, ys, "arithmetic intensity (flop/byte)", "GFLOP/s");
    if (r.peak_gflops > 0 && r.peak_gbps > 0) {
      const roof = [x0, ridge, x1].map((x) => [xs(x), ys(Math.max(y0, Math.min(r.peak_gflops, r.peak_gbps * x)))]);
      sv("polyline", { points: roof.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#d9480f", "stroke-width": 2, class: "roof" }, svg);
      sv("text", { x: W - m.r - 4, y: ys(r.peak_gflops) - 5, "text-anchor": "end", text: `${fmt(r.peak_gflops, 0)} GFLOP/s, ${fmt(r.peak_gbps, 0)} GB/s (measured)` }, svg);
    }
    for (const q of pts) if (q[4] > 0 && q[5] > 0) dot(xs(q[4]), ys(q[5]), q);
  } else {
    // Memory-bound work with no counted flops: achieved bandwidth per candidate, under the roof.
    const ids = pts.map((q) => q[0]);
    const ymax = Math.max(r.peak_gbps, ...pts.map((q) => q[6]), 1) * 1.1;
    const xs = scale(Math.min(...ids, 1) - 1, Math.max(...ids, 1) + 1, m.l, W - m.r), ys = scale(0, ymax, H - m.b, m.t);
    chartFrame(svg, W, H, m, xs, ys, "candidate", "achieved GB/s");
    if (r.peak_gbps > 0) {
      sv("line", { x1: m.l, x2: W - m.r, y1: ys(r.peak_gbps), y2: ys(r.peak_gbps), stroke: "#d9480f", "stroke-width": 2, class: "roof" }, svg);
      sv("text", { x: W - m.r - 4, y: ys(r.peak_gbps) - 5, "text-anchor": "end", text: `${fmt(r.peak_gbps, 1)} GB/s measured peak` }, svg);
    }
    for (const q of pts) dot(xs(q[0]), ys(q[6]), q);
  }
  return svg;
}

// ---- Syntax highlighting (as text spans) -------------------------------------------------
const KEYWORDS = new Set(("auto break case char const constexpr continue default do double else enum extern float for " +
  "if inline int long namespace return short signed sizeof static struct switch template typedef typename union " +
  "unsigned using void volatile while bool true false nullptr __global__ __device__ __host__ __shared__ " +
  "__restrict__ __launch_bounds__ def class import from as return with pass lambda None True False in is not and or " +
  "self yield try except finally raise elif global nonlocal assert del").split(" "));
const TYPES = /^(u?int\d+_t|size_t|float[234]?|half2?|__half2?|__nv_bfloat16|dim3|cudaStream_t|torch|nn|F)$/;
function highlight(code, lang) {
  const pre = el("pre", { class: "code" });
  const py = lang === ".py";
  const re = py
    ? /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|(\b\d[\d.eE+-]*[fFuUlL]*\b)|([A-Za-z_]\w*)/g
    : /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|(\b\d[\d.eE+-]*[fFuUlL]*\b)|(^[ \t]*#\s*\w+)|([A-Za-z_]\w*)/gm;
  let last = 0, mt;
  while ((mt = re.exec(code))) {
    if (mt.index > last) pre.append(code.slice(last, mt.index));
    const [text] = mt;
    let cls = null;
    if (mt[1]) cls = "tok-c";
    else if (mt[2]) cls = "tok-s";
    else if (mt[3]) cls = "tok-n";
    else if (!py && mt[4]) cls = "tok-p";
    else if (KEYWORDS.has(text)) cls = "tok-k";
    else if (TYPES.test(text)) cls = "tok-t";
    pre.append(cls ? el("span", { class: cls, text }) : text);
    last = mt.index + text.length;
  }
  pre.append(code.slice(last));
  return pre;
}
function diffView(lines) {
  const pre = el("pre", { class: "diff" });
  for (const [op, text] of lines) {
    pre.append(el("span", { class: op === "+" ? "diff-add" : op === "-" ? "diff-del" : "diff-ctx", text: `${op} ${text}` }));
  }
  return pre;
}

// ---- Views ------------------------------------------------------------------------------
function card(key, value, sub, id) {
  return el("div", { class: "card", id: id || "" }, el("div", { class: "k", text: key }),
            el("div", { class: "v", text: value }), sub ? el("div", { class: "s", text: sub }) : null);
}

async function viewRuns(main) {
  const { runs } = await api("runs");
  main.replaceChildren(el("h1", { text: "Runs" }));
  if (!runs.length) { main.append(el("p", { class: "muted", text: "No runs under the given directories yet." })); return; }
  const t = el("table", { id: "runs" }, el("tr", {}, ...["run", "task", "strategy", "state", "candidates", "best"].map((h) => el("th", { text: h }))));
  for (const r of runs) {
    const name = el("a", { href: `#/run/${enc(r.id)}`, text: r.id });
    t.append(r.error
      ? el("tr", {}, el("td", {}, r.id), el("td", { colspan: 5, class: "error", text: r.error }))
      : el("tr", {}, el("td", {}, name), el("td", { text: r.task }), el("td", { text: r.strategy }),
           el("td", { text: r.state }), el("td", { class: "num", text: r.candidates }),
           el("td", { class: "num", text: r.best ? fmtX(r.best.speedup) : "–" })));
  }
  main.append(el("div", { class: "panel" }, t));
  const { suites } = await api("suites");
  if (!suites.length) return;
  main.append(el("h1", { text: "Suites" }));
  const st = el("table", { id: "suites" }, el("tr", {}, ...["suite", "problems", "state"].map((h) => el("th", { text: h }))));
  for (const x of suites) {
    const states = x.states ? Object.entries(x.states).map(([k, n]) => `${n} ${k}`).join(", ") : "";
    st.append(x.error
      ? el("tr", {}, el("td", { text: x.id }), el("td", { colspan: 2, class: "error", text: x.error }))
      : el("tr", {}, el("td", {}, el("a", { href: `#/suite/${enc(x.id)}`, text: x.id })),
           el("td", { class: "num", text: x.problems }), el("td", { text: states })));
  }
  main.append(el("div", { class: "panel" }, st));
}

// A suite: a row per problem (linking its run), fast_p per baseline, and per model.
async function viewSuite(main, id) {
  const s = await api(`suites/${enc(id)}`);
  document.getElementById("crumbs").replaceChildren("/ ", el("a", { href: `#/suite/${enc(id)}`, text: id }));
  main.replaceChildren(el("h1", { text: `Suite ${s.suite}` }));
  const names = s.baselines;
  const head = ["problem", "verdict", "attempts", "first correct", "winner ms", ...names.flatMap((n) => [`${n} ms`, `vs ${n}`]), "winner's model"];
  const t = el("table", { id: "suite-problems" }, el("tr", {}, ...head.map((h) => el("th", { text: h }))));
  for (const r of s.problems) {
    const cells = [r.run ? el("td", {}, el("a", { href: `#/run/${enc(r.run)}`, text: r.name })) : el("td", { text: r.name }),
      el("td", { text: r.verdict, title: r.message || "" }), el("td", { class: "num", text: r.attempts }),
      el("td", { class: "num", text: r.first_correct ?? "–" }), el("td", { class: "num", text: r.winner ? fmt(r.winner.time_ms, 4) : "–" })];
    for (const n of names) {
      const b = r.baselines.find((x) => x.name === n);
      cells.push(el("td", { class: "num", text: b ? fmt(b.time_ms, 4) : "–" }), el("td", { class: "num", text: b ? fmtX(b.speedup) : "–" }));
    }
    cells.push(el("td", { text: r.winner ? r.winner.model : "–" }));
    t.append(el("tr", {}, ...cells));
  }
  main.append(el("div", { class: "panel" }, t));
  const f = el("table", { id: "suite-fast" }, el("tr", {}, ...["baseline", "fast_0", "fast_1", "fast_1.5", "fast_2", "geomean"].map((h) => el("th", { text: h }))));
  for (const n of names) {
    f.append(el("tr", {}, el("td", { text: n }), ...["0", "1", "1.5", "2"].map((p) => el("td", { class: "num", text: fmt(s.fast_p[n][p], 2) })),
                el("td", { class: "num", text: fmtX(s.geomean[n].failures_as_1x) })));
  }
  main.append(el("h2", { text: "fast_p and geometric means (no winner: 1x)" }), el("div", { class: "panel" }, f));
  const m = el("table", { id: "suite-models" }, el("tr", {}, ...["model", "problems", ...Array.from({ length: s.attempts }, (_, k) => `within ${k + 1}`), "fastest", "calls", "cost"].map((h) => el("th", { text: h }))));
  for (const x of s.models) {
    m.append(el("tr", {}, el("td", { text: x.model }), el("td", { class: "num", text: x.problems }),
                ...x.correct_within.map((w) => el("td", { class: "num", text: fmt(w, 2) })),
                el("td", { class: "num", text: x.fastest }), el("td", { class: "num", text: x.calls }),
                el("td", { class: "num", text: "$" + fmt(x.cost_usd, 4) })));
  }
  main.append(el("h2", { text: "Models: correct within k attempts" }), el("div", { class: "panel" }, m));
}

function statusCards(s) {
  const best = s.best;
  const cards = el("div", { class: "cards", id: "status" });
  cards.append(card("state", s.state, `${s.strategy} · ${s.task}`, "stat-state"));
  const be = s.budget.evals ? ` of ${s.budget.evals}` : "";
  cards.append(card("evaluations", `${s.spent.evals}${be}`, `${s.verdicts.ok || 0} correct`, "stat-evals"));
  if (best) {
    for (const b of best.baselines) {
      const id = "stat-best-" + b.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
      cards.append(card(`best vs ${b.name}`, fmtX(b.speedup), `#${best.id} · ${fmtMs(best.time_ms)} vs ${fmtMs(b.time_ms)}`, id));
    }
  } else {
    cards.append(card("best", "–", "no correct candidate yet", "stat-best-none"));
  }
  cards.append(card("tokens", (s.spent.prompt_tokens + s.spent.completion_tokens).toLocaleString(),
                    `${s.spent.llm_calls} calls · ${s.spent.llm_errors} errors`, "stat-tokens"));
  cards.append(card("cost", "$" + fmt(s.spent.cost_usd, 4), s.budget.cost_usd ? `budget $${fmt(s.budget.cost_usd)}` : "", "stat-cost"));
  cards.append(card("time", fmtDur(s.spent.time_s), s.budget.time_s ? `budget ${fmtDur(s.budget.time_s)}` : "", "stat-time"));
  const vd = el("div", { class: "card", id: "stat-verdicts" }, el("div", { class: "k", text: "verdicts" }));
  for (const [v, n] of Object.entries(s.verdicts)) vd.append(el("div", {}, verdictTag(v), ` ${n}`));
  cards.append(vd);
  return cards;
}

function toolButtons(options, current, onpick) {
  return el("span", { class: "tools" }, ...options.map(([k, label]) =>
    el("button", { class: k === current ? "on" : "", onclick: () => onpick(k), text: label })));
}

async function viewRun(main, run, quiet) {
  const [s, p, l, g, r] = await Promise.all([api(`runs/${enc(run)}/summary`), api(`runs/${enc(run)}/progress`),
    api(`runs/${enc(run)}/lineage?limit=1500`), api(`runs/${enc(run)}/grid`), api(`runs/${enc(run)}/roofline`)]);
  state.summary = s;
  const scroll = window.scrollY;
  document.getElementById("crumbs").replaceChildren("/ ", el("a", { href: `#/run/${enc(run)}`, text: run }));
  const rerender = () => viewRun(main, run, true);
  const progress = el("div", { class: "panel" },
    toolButtons([["evaluation", "evaluations"], ["seconds", "wall time"]], state.opts.x, (k) => { state.opts.x = k; rerender(); }),
    el("h2", { text: "Best speedup over time" }), progressChart(p, state.opts.x),
    p.islands.length > 1 ? legend([["#111", "overall"], ...p.islands.map((i, k) => [ISLAND_COLORS[k % 8], `island ${i.island}`])]) : null);
  const roof = el("div", { class: "panel" }, el("h2", { text: "Roofline: correct candidates against the measured ceilings" }),
    r.points.length ? rooflineChart(r) : el("p", { class: "muted", text: "No correct candidate yet." }));
  const lineage = el("div", { class: "panel" },
    toolButtons([["verdict", "verdict"], ["speedup", "speedup"]], state.opts.color, (k) => { state.opts.color = k; rerender(); }),
    el("h2", { text: `Lineage (${l.nodes.length} of ${l.total} candidates; the best's ancestry in bold)` }),
    lineageChart(l, state.opts.color),
    state.opts.color === "verdict" ? legend(Object.entries(VERDICT_COLORS).map(([v, c]) => [c, v])) : legend([["#d73027", "slower"], ["#1a9850", "faster"]]),
    l.migrations.length ? el("div", { class: "legend", text: "dashed purple: migrations between islands" }) : null);
  const parts = [el("h1", { text: `${s.task} · ${s.strategy}` }), statusCards(s), el("div", { class: "grid2" }, progress, roof), lineage];
  if (g.features.length) parts.push(el("div", { class: "panel" }, el("h2", { text: "MAP-Elites grid (elite speedup per cell)" }), gridChart(g)));
  parts.push(await candidateTable(run));
  main.replaceChildren(...parts);
  if (quiet) window.scrollTo(0, scroll);
}

async function candidateTable(run) {
  const pg = state.page;
  const q = `offset=${pg.offset}&limit=50&sort=${pg.sort}` + (pg.verdict ? `&verdict=${enc(pg.verdict)}` : "");
  const c = await api(`runs/${enc(run)}/candidates?${q}`);
  const panel = el("div", { class: "panel", id: "candidates" });
  const sel = el("select", {}, ...["", ...Object.keys(state.summary.verdicts)].map((v) => {
    const o = el("option", { value: v, text: v || "all verdicts" }); if (v === pg.verdict) o.selected = true; return o; }));
  sel.addEventListener("change", () => { pg.verdict = sel.value; pg.offset = 0; refresh(true); });
  panel.append(toolButtons([["speedup", "fastest"], ["id", "in order"]], pg.sort, (k) => { pg.sort = k; pg.offset = 0; refresh(true); }),
    el("h2", { text: `Candidates (${c.total})` }), sel);
  // Tune runs: a column of each candidate's parameter values.
  const params = c.rows.some((row) => row.params);
  const heads = ["id", "parent", "origin", "island", "verdict", "speedup", "time", "eval s", ...(params ? ["params"] : [])];
  const t = el("table", {}, el("tr", {}, ...heads.map((h) => el("th", { text: h }))));
  for (const row of c.rows) {
    const tr = el("tr", {}, el("td", {}, el("a", { href: `#/run/${enc(run)}/c/${row.id}`, text: `#${row.id}` })),
      el("td", { text: row.parent ? `#${row.parent}` : "–" }), el("td", { text: row.origin }), el("td", { text: row.island }),
      el("td", {}, verdictTag(row.verdict)), el("td", { class: "num", text: row.verdict === "ok" ? fmtX(row.speedup) : "–" }),
      el("td", { class: "num", text: row.verdict === "ok" ? fmtMs(row.time_ms) : "–" }), el("td", { class: "num", text: fmt(row.eval_seconds, 1) }));
    if (params) tr.append(el("td", { text: Object.entries(row.params || {}).map(([k, v]) => `${k}=${v}`).join(" ") }));
    t.append(tr);
  }
  panel.append(t, el("div", { class: "pager" },
    el("button", { onclick: () => { pg.offset = Math.max(0, pg.offset - 50); refresh(true); }, text: "‹ prev" }),
    `${c.total ? pg.offset + 1 : 0}–${pg.offset + c.rows.length} of ${c.total}`,
    el("button", { onclick: () => { if (pg.offset + 50 < c.total) { pg.offset += 50; refresh(true); } }, text: "next ›" })));
  return panel;
}

function timingsTable(res) {
  const t = el("table", { id: "timings" }, el("tr", {}, ...["program", "median", "p10", "p90", "runs", "95% CI"].map((h) => el("th", { text: h }))));
  const row = (name, tm) => tm && t.append(el("tr", {}, el("td", { text: name }), el("td", { class: "num", text: fmtMs(tm.median) }),
    el("td", { class: "num", text: fmtMs(tm.p10) }), el("td", { class: "num", text: fmtMs(tm.p90) }),
    el("td", { class: "num", text: tm.runs }), el("td", { class: "num", text: `±${fmt(100 * tm.ci95_rel, 1)}%` })));
  row("this candidate", res.time_ms);
  row(res.baseline_name || "initial program", res.baseline);
  for (const b of res.baselines || []) row(b.name, b.time_ms);
  return t;
}

async function viewCandidate(main, run, id) {
  const c = await api(`runs/${enc(run)}/candidates/${enc(id)}`);
  document.getElementById("crumbs").replaceChildren("/ ", el("a", { href: `#/run/${enc(run)}`, text: run }), ` / #${c.id}`);
  const res = c.result || {};
  const kv = el("dl", { class: "kv" });
  const add = (k, v) => v != null && v !== "" && kv.append(el("dt", { text: k }), el("dd", {}, v));
  add("verdict", verdictTag(c.verdict));
  if (c.verdict === "ok") add("speedup", el("b", { id: "cand-speedup", text: fmtX(c.speedup) }));
  for (const b of res.baselines || []) add(`vs ${b.name}`, fmtX(b.speedup));
  add("time", fmtMs(c.time_ms));
  add("origin", `${c.origin} · ${c.strategy} · round ${c.round} · island ${c.island}`);
  add("parent", c.parent ? el("a", { href: `#/run/${enc(run)}/c/${c.parent}`, text: `#${c.parent}` }) : "none");
  if (c.children.length) add("children", el("span", {}, ...c.children.flatMap((k) => [el("a", { href: `#/run/${enc(run)}/c/${k}`, text: `#${k}` }), " "])));
  if (res.roofline) add("roofline", `${fmt(100 * res.roofline.fraction, 0)}% of the roof · floor ${fmtMs(res.roofline.floor_ms)}`);
  add("evaluated in", `${fmt(c.eval_seconds, 2)} s`);
  if (Object.keys(c.params || {}).length) add("parameters", JSON.stringify(c.params));
  const parts = [el("h1", { text: `Candidate #${c.id}` }), el("div", { class: "panel" }, kv)];
  const detail = res.detail || {};
  if (Object.keys(detail).length) {
    const d = el("div", { class: "panel", id: "verdict-detail" }, el("h2", { text: "Verdict detail" }));
    if (detail.message) d.append(el("pre", { class: "plain", text: detail.message }));
    for (const [k, v] of Object.entries(detail)) {
      if (k === "message") continue;
      d.append(el("h2", { text: k, style: "margin-top:10px" }), el("pre", { class: "plain", text: typeof v === "string" ? v : JSON.stringify(v, null, 2) }));
    }
    parts.push(d);
  }
  if (res.time_ms) parts.push(el("div", { class: "panel" }, el("h2", { text: "Timings" }), timingsTable(res)));
  parts.push(el("div", { class: "panel" }, el("h2", { text: "Code" }), highlight(c.code, c.language)));
  if (c.diff) parts.push(el("div", { class: "panel" }, el("h2", { text: `Diff against parent #${c.parent} (+${c.diff_stat.added} −${c.diff_stat.removed})` }), diffView(c.diff)));
  if (c.feedback) parts.push(el("div", { class: "panel" }, el("h2", { text: "Feedback given to the next prompt" }), el("pre", { class: "plain", text: c.feedback })));
  if (c.llm) {
    const p = el("div", { class: "panel", id: "llm" }, el("h2", { text: `Prompt and reply · ${c.llm.model || c.llm.provider}` }),
      el("div", { class: "muted", text: `${c.llm.prompt_tokens} + ${c.llm.completion_tokens} tokens · ${fmt(c.llm.latency_s, 1)} s · $${fmt(c.llm.cost_usd, 4)}${c.llm.cached ? " · cached" : ""}` }));
    for (const msg of c.llm.messages) p.append(el("div", { class: "msg" }, el("div", { class: "role", text: msg.role }), el("pre", { class: "plain", text: msg.content })));
    p.append(el("div", { class: "msg" }, el("div", { class: "role", text: "reply" }), el("pre", { class: "plain", text: c.llm.reply || c.llm.error || "" })));
    parts.push(p);
  }
  main.replaceChildren(...parts);
}

// ---- Routing and live updates --------------------------------------------------------------
function parseRoute() {
  const h = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (h[0] === "run" && h[1] && h[2] === "c" && h[3]) return { run: h[1], candidate: h[3] };
  if (h[0] === "run" && h[1]) return { run: h[1] };
  if (h[0] === "suite" && h[1]) return { suite: h[1] };
  return {};
}

async function refresh(quiet) {
  const main = document.getElementById("main");
  const route = parseRoute();
  state.route = route;
  try {
    if (route.candidate) await viewCandidate(main, route.run, route.candidate);
    else if (route.run) await viewRun(main, route.run, quiet);
    else if (route.suite) await viewSuite(main, route.suite);
    else { document.getElementById("crumbs").replaceChildren(); await viewRuns(main); }
    document.body.dataset.loaded = location.hash || "#/";
  } catch (e) {
    main.replaceChildren(el("h1", { text: "Cannot show this page" }), el("div", { class: "error", id: "error", text: e.message }),
                         el("p", {}, el("a", { href: "#/", text: "All runs" })));
    document.body.dataset.loaded = "error";
  }
}

// Polls the run's summary; redraws when a candidate or a migration arrives or the state changes.
async function poll() {
  const live = document.getElementById("live");
  const route = state.route || {};
  if (route.run && !route.candidate) {
    try {
      const s = await api(`runs/${enc(route.run)}/summary`);
      live.className = s.state === "running" ? "on" : "";
      live.textContent = s.state === "running" ? "live" : s.state;
      const old = state.summary;
      if (old && (old.candidates !== s.candidates || old.state !== s.state || old.last_at !== s.last_at)) await refresh(true);
    } catch (e) { live.textContent = "offline"; live.className = ""; }
  }
  state.timer = setTimeout(poll, POLL_MS);
}

window.addEventListener("hashchange", () => { state.page.offset = 0; refresh(false); });
window.addEventListener("DOMContentLoaded", () => { refresh(false); poll(); });
