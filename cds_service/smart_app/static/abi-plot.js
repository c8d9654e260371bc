// One leg's ABI over time as an inline SVG: dated points joined by a line, with the guideline
// band limits (0.90 and 1.40) as dashed lines. Drawn with DOM calls only (no innerHTML, no library).
"use strict";
window.AbiPlot = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 420, H = 180, LEFT = 40, RIGHT = 14, TOP = 12, BOTTOM = 28;
  const BANDS = [0.9, 1.4];

  function el(name, attributes, text) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // points: [{date: "YYYY-MM-DD", value: number}], any order.
  function draw(points, title) {
    const data = points.filter((p) => p.date && typeof p.value === "number")
      .map((p) => ({ t: Date.parse(p.date), value: p.value, date: p.date }))
      .filter((p) => !Number.isNaN(p.t)).sort((a, b) => a.t - b.t);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "abi-plot", role: "img", "aria-label": title });
    svg.appendChild(el("title", {}, title));
    if (data.length === 0) {
      svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No ABI on file"));
      return svg;
    }
    const values = data.map((p) => p.value);
    const low = Math.min(0.3, ...values) - 0.05, high = Math.max(1.5, ...values) + 0.05;
    const t0 = data[0].t, t1 = data[data.length - 1].t;
    const x = (t) => (t1 === t0 ? (LEFT + W - RIGHT) / 2 : LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT));
    const y = (v) => TOP + ((high - v) / (high - low)) * (H - TOP - BOTTOM);
    svg.appendChild(el("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM }));
    svg.appendChild(el("line", { class: "axis", x1: LEFT, y1: H - BOTTOM, x2: W - RIGHT, y2: H - BOTTOM }));
    for (const band of BANDS) {
      svg.appendChild(el("line", { class: "band-line", x1: LEFT, y1: y(band), x2: W - RIGHT, y2: y(band) }));
      svg.appendChild(el("text", { x: LEFT - 4, y: y(band) + 4, "text-anchor": "end" }, band.toFixed(2)));
    }
    svg.appendChild(el("polyline", { class: "series", points: data.map((p) => `${x(p.t)},${y(p.value)}`).join(" ") }));
    for (const p of data) {
      const dot = el("circle", { class: "point", cx: x(p.t), cy: y(p.value), r: 4 });
      dot.appendChild(el("title", {}, `${p.date}: ABI ${p.value.toFixed(2)}`));
      svg.appendChild(dot);
    }
    svg.appendChild(el("text", { x: LEFT, y: H - 8 }, data[0].date));
    if (data.length > 1) svg.appendChild(el("text", { x: W - RIGHT, y: H - 8, "text-anchor": "end" }, data[data.length - 1].date));
    return svg;
  }

  return { draw: draw };
})();
