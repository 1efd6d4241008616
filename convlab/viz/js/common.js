// convlab explorer views: shared helpers. Each view's module is this file followed by the view's own
// file (convlab/viz/_view.py: esm), which ends with `export default view(draw)`. STYLE (the palette and
// sizes of convlab/viz/style.py) is prepended by Python, so colours live in one place.
const SVGNS = "http://www.w3.org/2000/svg";

// A drawing is built as SVG text and parsed once (much faster than one DOM call per element).
const ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"};
function esc(v) { return String(v).replace(/[&<>"]/g, (c) => ESC[c]); }

function el(tag, attrs, parent, text) {
  let a = "";
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) a += ` ${k}="${esc(v)}"`;
  parent.parts.push(text === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${esc(text)}</${tag}>`);
  return parent;
}

// A number as a cell shows it (convlab.viz.window.fmt): integers bare, others with two decimals.
function fmt(v) { return Number.isInteger(v) ? String(v) : v.toFixed(2); }
function fmtFactor(v) { const s = fmt(v); return s.startsWith("-") ? "(" + s + ")" : s; }

// An SVG drawing of `width` x `height` units that scales to its box (the deck shows it at slide size).
function canvas(width, height, label) { return {parts: [], width, height, label}; }

function svgNode(c) {
  const holder = document.createElement("div");
  holder.innerHTML = `<svg xmlns="${SVGNS}" viewBox="0 0 ${c.width} ${c.height}" width="100%" role="img" ` +
    `aria-label="${esc(c.label)}" preserveAspectRatio="xMinYMin meet" class="convlab-svg" ` +
    `style="max-width:${Math.round(c.width * STYLE.SCALE)}px">${c.parts.join("")}</svg>`;
  return holder.firstChild;
}

// One labelled cell: a square at (x, y) of side `size`, filled, with `text` centred.
function cell(parent, x, y, size, fill, text, opts) {
  const o = opts || {};
  el("rect", {x, y, width: size, height: size, fill, stroke: o.stroke || STYLE.EDGE,
              "stroke-width": o.strokeWidth || 1, "stroke-dasharray": o.dash}, parent);
  if (text !== undefined && text !== "")
    el("text", {x: x + size / 2, y: y + size / 2 + (o.dy || 0), "text-anchor": "middle", "dominant-baseline": "central",
                "font-size": o.fontSize || STYLE.FONT, fill: o.color || STYLE.TEXT}, parent, text);
  return parent;
}

function label(parent, x, y, text, opts) {
  const o = opts || {};
  return el("text", {x, y, "font-size": o.fontSize || STYLE.FONT, fill: o.color || STYLE.TEXT,
                     "text-anchor": o.anchor || "start", "font-family": o.family, "font-weight": o.weight},
            parent, text);
}

// The padded index of `i` in 0..n-1 for padding_mode (torch's semantics); null for a zero cell.
function padIndex(i, n, mode) {
  if (i >= 0 && i < n) return i;
  if (mode === "zeros") return null;
  if (mode === "replicate") return Math.min(Math.max(i, 0), n - 1);
  if (mode === "circular") return ((i % n) + n) % n;
  if (mode === "reflect") {                       // no edge repeat: -1 -> 1, n -> n - 2
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    let j = ((i % period) + period) % period;
    return j < n ? j : period - j;
  }
  throw new Error("unknown padding_mode " + mode);
}

// render(): draw(state) -> {node (a canvas() drawing or a DOM node), numbers}; every change of a state trait repaints, timed.
// The root carries data-convlab-view, data-state and data-numbers (what the browser tests compare with
// the Python view's drawn_numbers()), data-paints and data-paint-ms (the last repaint, trait change ->
// drawn and laid out); window.__convlabPaints collects every repaint caused by a change.
function view(draw) {
  return {
    render({model, el: host}) {
      const names = model.get("_state_names");
      const root = document.createElement("div");
      root.className = "convlab-view";
      root.dataset.convlabView = model.get("_convlab_view");
      host.appendChild(root);
      let paints = 0;
      const repaint = (changed) => {
        const t0 = performance.now();
        const state = {};
        for (const n of names) state[n] = model.get(n);
        const out = draw(state, model);
        root.replaceChildren(out.node.parts ? svgNode(out.node) : out.node);
        root.dataset.state = JSON.stringify(state);
        root.dataset.numbers = JSON.stringify(out.numbers);
        void root.offsetHeight;                    // style and layout now, inside the measured time
        const ms = performance.now() - t0;
        paints += 1;
        root.dataset.paints = String(paints);
        root.dataset.paintMs = ms.toFixed(3);
        if (changed) (window.__convlabPaints = window.__convlabPaints || []).push(ms);
        if (out.fix) setTimeout(() => {            // a value the state cannot have (e.g. a position past the end)
          for (const [k, v] of Object.entries(out.fix)) model.set(k, v);
          model.save_changes();
        }, 0);
      };
      const handlers = names.map(n => { const h = () => repaint(n); model.on("change:" + n, h); return [n, h]; });
      repaint(null);
      return () => handlers.forEach(([n, h]) => model.off("change:" + n, h));
    }
  };
}
