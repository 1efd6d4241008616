// Weight-init view (convlab.viz.init.InitView): the histogram of a fresh layer's weight, in BINS bars across
// the band (−√k, √k), against the dashed bound lines and the flat count a uniform distribution gives.
// The page cannot make a layer, but convlab's reset_parameters fills the weight with float32(−b + 2b·u) for
// the generator's first draws u (the same for every layer after manual_seed(seed)); Python sent each draw's
// bar (4 bits), the exact u of the draws whose bar float32 rounding decides, and the running min/max records.
let cache = {b64: null, bytes: null};
function bars(b64) {
  if (cache.b64 !== b64) {
    const s = atob(b64), a = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    cache = {b64, bytes: a};
  }
  return cache.bytes;
}
const SUP = {1: "", 2: "²", 3: "³"};
const signed = (v) => (v < 0 ? "−" : "+") + Math.abs(v).toFixed(4);

function draw(s) {
  const cin = s.in_channels, cout = s.out_channels, ks = s.kernel_size, g = s.groups, d = s.dims, B = s.bins;
  const cls = (s.transposed ? "ConvTranspose" : "Conv") + d + "d";
  const layer = `${cls}(${cin}, ${cout}, ${ks}, groups=${g})`;
  const width = 1100, height = 500;
  const bad = cin % g || cout % g;
  const svg = canvas(width, bad ? 160 : height, `${layer}: the histogram of its fresh weight`);
  label(svg, 0, 24, layer, {weight: "bold"});
  if (!(cin % g || cout % g))
    label(svg, 420, 24, `a fresh layer, made after convlab.manual_seed(${s.seed})`, {color: STYLE.MUTED_TEXT});
  if (bad) {
    const which = cin % g ? `in_channels=${cin}` : `out_channels=${cout}`;
    const common = [];
    for (let c = 1; c <= Math.min(cin, cout); c++) if (cin % c === 0 && cout % c === 0) common.push(c);
    label(svg, 0, 70, `Not a valid layer: groups=${g} does not divide ${which}.`, {color: STYLE.WRONG});
    label(svg, 0, 100, "Each group needs whole channels on both sides; torch and convlab raise a ValueError.",
          {color: STYLE.WRONG});
    label(svg, 0, 130, `groups that divide both ${cin} and ${cout}: ${common.join(", ")}`);
    return {node: svg, numbers: {error: true, layer}};
  }
  const kd = Math.pow(ks, d), per = s.transposed ? cout / g : cin / g;
  const shape = s.transposed ? [cin, cout / g] : [cout, cin / g];
  for (let i = 0; i < d; i++) shape.push(ks);
  const n = shape.reduce((a, b) => a * b, 1), fan = per * kd;
  const chan = s.transposed ? cout : cin;
  const k = g / (chan * kd), b = 1 / Math.sqrt(fan);
  // counts of the first n draws' bars, the few near an edge recomputed from their exact value
  const bytes = bars(s.bins_b64), counts = new Array(B).fill(0);
  for (let i = 0; i < n; i++) counts[i & 1 ? bytes[i >> 1] & 15 : bytes[i >> 1] >> 4] += 1;
  const weight = (u) => Math.fround(-b + (2 * b) * u);
  const exactBar = (u) => Math.min(Math.max(Math.floor((weight(u) / b + 1) * (B / 2)), 0), B - 1);
  for (const [i, u] of s.near) {
    if (i >= n) break;
    counts[i & 1 ? bytes[i >> 1] & 15 : bytes[i >> 1] >> 4] -= 1;
    counts[exactBar(u)] += 1;
  }
  const record = (recs) => { let r = recs[0]; for (const x of recs) { if (x[0] >= n) break; r = x; } return weight(r[1]); };
  const min = record(s.min_records), max = record(s.max_records), expected = n / B;
  const C = s.transposed ? "C_out" : "C_in";
  label(svg, 0, 54, `weight ${"(" + shape.join(", ") + ")"}: ${n} values from U(−√k, √k),  ` +
        `k = groups / (${C}·kernel_size${SUP[d]}) = ${g} / (${chan}·${ks}${SUP[d]}) = ${k.toPrecision(4)}`);
  // axes: t = weight / √k from −1.25 to 1.25
  const px0 = 80, px1 = 860, py0 = 420, py1 = 110;
  const X = (t) => px0 + (t + 1.25) / 2.5 * (px1 - px0);
  const top = Math.max(Math.max(...counts), expected) * 1.15 || 1;
  const Y = (c) => py0 - c / top * (py0 - py1);
  el("line", {x1: px0, y1: py0, x2: px1, y2: py0, stroke: STYLE.EDGE}, svg);
  el("line", {x1: px0, y1: py0, x2: px0, y2: py1, stroke: STYLE.EDGE}, svg);
  label(svg, px0 - 8, py0 + 5, "0", {anchor: "end", fontSize: STYLE.SMALL + 2});
  const cmax = Math.max(...counts);
  label(svg, px0 - 8, Y(cmax) + 5, String(cmax), {anchor: "end", fontSize: STYLE.SMALL + 2});
  el("line", {x1: px0 - 4, y1: Y(cmax), x2: px0, y2: Y(cmax), stroke: STYLE.EDGE}, svg);
  label(svg, 16, (py0 + py1) / 2, "count", {fontSize: STYLE.SMALL + 2,
        color: STYLE.MUTED_TEXT});
  counts.forEach((c, j) => {
    const t0 = -1 + 2 * j / B, t1 = -1 + 2 * (j + 1) / B;
    if (c) el("rect", {x: X(t0), y: Y(c), width: X(t1) - X(t0), height: py0 - Y(c), fill: STYLE.HIST,
                       stroke: "#ffffff", "stroke-width": 1, "data-count": c}, svg);
  });
  el("line", {x1: X(-1), y1: Y(expected), x2: X(1), y2: Y(expected), stroke: STYLE.TEXT, "stroke-width": 2,
              "stroke-dasharray": "2 4"}, svg);
  label(svg, X(1) + 8, Y(expected) + 5, `uniform: n/${B} = ${fmt(expected)} per bar`, {fontSize: STYLE.SMALL + 2});
  for (const sgn of [-1, 1]) {
    el("line", {x1: X(sgn), y1: py0 + 6, x2: X(sgn), y2: py1 - 10, stroke: STYLE.BOUND, "stroke-width": 3,
                "stroke-dasharray": "8 5"}, svg);
    label(svg, X(sgn), py0 + 26, `${sgn < 0 ? "−" : ""}√k = ${signed(sgn * b)}`, {anchor: "middle", color: STYLE.BOUND});
  }
  label(svg, X(0), py0 + 26, "0", {anchor: "middle"});
  label(svg, X(0), py0 + 52, "weight value", {anchor: "middle", color: STYLE.MUTED_TEXT});
  label(svg, px0 + 10, py1 - 24, `min ${signed(min)}   max ${signed(max)}   (bound ±${b.toFixed(4)})`,
        {family: "monospace"});
  const numbers = {layer, weight_shape: shape, k, bound: b, n, counts, expected, min, max};
  return {node: svg, numbers};
}

export default view(draw);
