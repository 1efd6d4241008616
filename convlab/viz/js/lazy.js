// Lazy module view (convlab.viz.lazy.LazyView): the module's class, in_channels, weight, bias and repr
// before and after its first call, the cells the call changed highlighted. Every snapshot was computed by
// convlab (real Lazy modules) in Python; this file only picks the one for the controls' state and draws it.
const ROWS = ["class", "in_channels", "weight", "bias"];

function draw(s) {
  const kind = s.kinds[s.kind], before = s.before[s.kind];
  const c = Math.min(Math.max(s.in_channels, 1), s.max_in_channels);
  const entry = s.called ? s.after[s.kind][c - 1] : null;
  const after = entry ? {class: entry.class, in_channels: entry.in_channels, weight: entry.weight,
                         bias: entry.bias, repr: entry.repr} : null;
  const changed = after ? ROWS.concat(["repr"]).filter(r => after[r] !== before[r]) : [];
  const width = 1040, rowH = 40, top = 64, x0 = 150, x1 = 560, colW = 400;
  const height = top + rowH * ROWS.length + 180;
  const head = `nn.${kind}(out_channels=${s.out_channels}, kernel_size=${s.kernel_size})`;
  const svg = canvas(width, height, head + (after ? ": after its first call" : ": not called yet"));
  label(svg, 0, 22, head, {weight: "bold"});
  label(svg, x0, top - 12, "before the first call", {weight: "bold"});
  label(svg, x1, top - 12, "after the first call", {weight: "bold"});
  ROWS.forEach((r, i) => {
    const y = top + i * rowH;
    label(svg, 0, y + 26, r, {weight: "bold"});
    el("rect", {x: x0 - 6, y: y + 2, width: colW - 10, height: rowH - 6, fill: "#ffffff", stroke: STYLE.EDGE}, svg);
    label(svg, x0, y + 26, before[r], {family: "monospace"});
    const hit = changed.includes(r);
    el("rect", {x: x1 - 6, y: y + 2, width: colW + 70, height: rowH - 6, fill: hit ? STYLE.HIGHLIGHT : "#ffffff",
                stroke: STYLE.EDGE}, svg);
    label(svg, x1, y + 26, after ? after[r] : "— (not called yet)", {family: "monospace",
          color: after ? STYLE.TEXT : STYLE.MUTED_TEXT});
  });
  let y = top + ROWS.length * rowH + 30;
  label(svg, 0, y, "repr before:", {weight: "bold"});
  label(svg, x0, y, before.repr, {family: "monospace", fontSize: STYLE.FONT - 2});
  y += 34;
  label(svg, 0, y, "repr after:", {weight: "bold"});
  if (after) {
    el("rect", {x: x0 - 6, y: y - 22, width: width - x0, height: 30, fill: STYLE.HIGHLIGHT}, svg);
    label(svg, x0, y, after.repr, {family: "monospace", fontSize: STYLE.FONT - 2});
  } else label(svg, x0, y, "— (not called yet)", {color: STYLE.MUTED_TEXT});
  y += 44;
  const input = entry ? entry.input_shape : null, output = entry ? entry.output_shape : null;
  const pyTuple = (t) => `(${t.join(", ")})`;
  if (entry) {
    label(svg, 0, y, `called on an input of shape ${pyTuple(input)}: in_channels = input.shape[1] = ${entry.in_channels}`);
    label(svg, 0, y + 30, `output ${pyTuple(output)}; the class became ${entry.class}`);
  } else label(svg, 0, y, "press “call”: the first input fixes in_channels = input.shape[1]");
  return {node: svg, numbers: {kind, before, after, input_shape: input, output_shape: output, changed}};
}

export default view(draw);
