// Output-size formula view (convlab.viz.shape_panel.ShapeView): the article's formula per axis with the
// reader's numbers plugged in (the same text as convlab.shapes), the floor remainder highlighted, and the
// shape beside it. The Python side checks that a real convlab layer returns that shape.
const MINUS = "−", TIMES = "·";
const AXES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]};
const pyTuple = (t) => t.length === 1 ? `(${t[0]},)` : `(${t.join(", ")})`;

function chain(...forms) {                          // convlab.shapes._chain
  const kept = [String(forms[0])];
  for (const f of forms.slice(1).map(String)) if (f !== kept[kept.length - 1]) kept.push(f);
  return kept.join(" = ");
}

function derive(kind, axis, n, k, s, p, d, op) {
  if (kind === "conv") {
    const span = d * (k - 1) + 1, padded = n + 2 * p;
    if (padded < span) return {error: `kernel_size ${k} (dilation ${d}, so it spans ${span} cells) is larger than the padded input ${n} + ${p} + ${p} = ${padded} along ${axis}`};
    const num = padded - span, value = Math.floor(num / s) + 1, rem = num % s;
    const q = Math.floor(num / s);
    return {value, remainder: rem,
      formula: `${axis}_out = ⌊(${axis}_in + 2${TIMES}padding ${MINUS} dilation${TIMES}(kernel_size ${MINUS} 1) ${MINUS} 1) / stride⌋ + 1`,
      text: chain(`⌊(${n} + 2${TIMES}${p} ${MINUS} ${d}${TIMES}(${k} ${MINUS} 1) ${MINUS} 1) / ${s}⌋ + 1`, `⌊${num} / ${s}⌋ + 1`, value),
      note: rem ? `remainder ${num} mod ${s} = ${rem}: the floor drops ${rem} cell${rem !== 1 ? "s" : ""} that no further step reaches`
                : `remainder ${num} mod ${s} = 0: nothing is dropped`};
  }
  const limit = Math.max(s, d);
  if (op >= limit) return {error: `output_padding must be smaller than max(stride, dilation) = ${limit}, got output_padding=${op}`};
  const value = (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
  if (value < 1) return {error: `the transposed convolution's output size along ${axis} would be ${value}; it must be >= 1, so use less padding`};
  return {value, remainder: null,
    formula: `${axis}_out = (${axis}_in ${MINUS} 1)${TIMES}stride ${MINUS} 2${TIMES}padding + dilation${TIMES}(kernel_size ${MINUS} 1) + output_padding + 1`,
    text: chain(`(${n} ${MINUS} 1)${TIMES}${s} ${MINUS} 2${TIMES}${p} + ${d}${TIMES}(${k} ${MINUS} 1) + ${op} + 1`,
                `${(n - 1) * s} ${MINUS} ${2 * p} + ${d * (k - 1)} + ${op} + 1`, value),
    note: ""};
}

function draw(s) {
  const axes = AXES[s.dims];
  const name = (s.kind === "conv" ? "nn.Conv" : "nn.ConvTranspose") + s.dims + "d";
  const parts = axes.map(a => derive(s.kind, a, s[a + "_in"], s.kernel_size, s.stride, s.padding, s.dilation, s.output_padding));
  const lineH = 28, width = 1000, height = 20 + lineH * (3 * axes.length + 1) + 10;
  const svg = canvas(width, height, `${name}: the output size, axis by axis`);
  const bad = parts.find(d => d.error);
  let y = 24;
  parts.forEach((d, i) => {
    if (d.error) { y += 3 * lineH; return; }
    label(svg, 0, y, d.formula);
    label(svg, 24, y + lineH, d.text, {family: "monospace"});
    if (d.note) {
      el("rect", {x: 20, y: y + lineH + 9, width: 9.2 * d.note.length + 12, height: lineH - 2, rx: 5,
                  fill: d.remainder ? STYLE.HIGHLIGHT : STYLE.PAD_ZERO}, svg);
      label(svg, 26, y + 2 * lineH + 2, d.note);
    }
    y += 3 * lineH;
  });
  if (bad) {
    label(svg, 0, y, "These arguments do not make a layer: " + bad.error, {color: STYLE.WRONG, fontSize: STYLE.FONT - 2});
    return {node: svg, numbers: {error: true}};
  }
  const shape = parts.map(d => d.value), actual = [1, ...shape];
  label(svg, 0, y, `formula: ${pyTuple(shape)}     ${name}(x).shape = ${pyTuple(actual)}     ✓ they agree`,
        {weight: "bold", color: STYLE.ACTIVE});
  return {node: svg, numbers: {formula_shape: shape, actual_shape: actual, agree: true,
                               steps: parts.map(d => d.text), remainders: parts.map(d => d.remainder)}};
}

export default view(draw);
