// Conv1d explorer view (convlab.viz.signal1d.Conv1dView): the padded input, the kernel on the taps of
// output sample `position`, the output up to that sample, and the sum written out.
function draw(s) {
  const x = s.x, L = x.length, P = s.max_padding, k = s.kernel_size, st = s.stride, p = s.padding, d = s.dilation;
  const w = s.kernels[k - 1];
  const U = 40, left = 80, top = 34;
  const col = (i) => left + (i + P) * U;             // input index i (negative in the padding)
  const reach = d * (k - 1) + 1, padded = L + 2 * p;
  const nOut = padded >= reach ? Math.floor((padded - reach) / st) + 1 : 0;
  const width = left + (L + 2 * P) * U + 10, height = nOut ? 290 : 170;
  const head = `Conv1d(1, 1, kernel_size=${k}, stride=${st}, padding=${p}, dilation=${d}): L_in=${L}`;
  const svg = canvas(width, height, head);
  label(svg, 0, 20, head + (nOut ? ` → L_out=${nOut}` : ""), {weight: "bold"});
  const rowLabel = (y, t) => label(svg, 0, y + U / 2 + 5, t);
  // input row, padding cells grey
  rowLabel(top + 14, "input");
  for (let i = -p; i < L + p; i++) {
    const inside = i >= 0 && i < L;
    label(svg, col(i) + U / 2, top + 10, String(i), {anchor: "middle", fontSize: STYLE.SMALL, color: STYLE.MUTED_TEXT});
    cell(svg, col(i), top + 14, U, inside ? STYLE.INPUT : STYLE.PAD_ZERO, inside ? fmt(x[i]) : "0");
  }
  if (!nOut) {
    label(svg, 0, top + 90, `This layer cannot run: the kernel reaches dilation·(kernel_size−1)+1 = ${reach} cells,`,
          {color: STYLE.WRONG});
    label(svg, 0, top + 114, `more than the ${padded} cells of the padded input (torch raises a RuntimeError).`,
          {color: STYLE.WRONG});
    return {node: svg, numbers: {error: true}};
  }
  const o = Math.max(s.position, 0) % nOut;          // past the end: round again (Play loops)
  const taps = [], terms = [];
  for (let t = 0; t < k; t++) taps.push(o * st - p + t * d);
  // kernel row: taps under their input cells, dotted gaps between them
  const ky = top + 14 + U + 16;
  rowLabel(ky, "kernel");
  for (let i = taps[0]; i <= taps[k - 1]; i++)
    if ((i - taps[0]) % d) cell(svg, col(i), ky, U, STYLE.GAP, "", {stroke: STYLE.GAP_EDGE, dash: "3 3"});
  taps.forEach((i, t) => {
    cell(svg, col(i), ky, U, STYLE.KERNEL, fmt(w[t]));
    const xi = i >= 0 && i < L ? x[i] : 0;
    terms.push([xi, w[t]]);
    el("rect", {x: col(i) + 4, y: top + 18, width: U - 8, height: U - 8, fill: "none", stroke: STYLE.TAP_EDGE,
                "stroke-width": 2}, svg);
  });
  el("rect", {x: col(taps[0]) - 3, y: top + 11, width: (taps[k - 1] - taps[0] + 1) * U + 6, height: 2 * U + 22,
              fill: "none", stroke: STYLE.WINDOW, "stroke-width": 3, rx: 4, class: "window"}, svg);
  // output row: computed samples green, the current one dark
  const oy = ky + U + 34, y = [];
  for (let j = 0; j < nOut; j++) {
    let sum = 0;
    for (let t = 0; t < k; t++) { const i = j * st - p + t * d; if (i >= 0 && i < L) sum += x[i] * w[t]; }
    y.push(sum);
  }
  rowLabel(oy, "output");
  for (let j = 0; j < nOut; j++) {
    label(svg, col(j) + U / 2, oy - 4, String(j), {anchor: "middle", fontSize: STYLE.SMALL, color: STYLE.MUTED_TEXT});
    const done = j <= o;
    cell(svg, col(j), oy, U, j === o ? STYLE.ACTIVE : done ? STYLE.OUTPUT : "#ffffff", done ? fmt(y[j]) : "",
         {color: j === o ? STYLE.ACTIVE_TEXT : STYLE.TEXT});
  }
  const total = terms.reduce((a, [xi, wi]) => a + xi * wi, 0);
  const products = taps.map((i, t) => `x[${i}]·w[${t}]`).join(" + ");
  const values = terms.map(([xi, wi]) => `${fmtFactor(xi)}·${fmtFactor(wi)}`).join(" + ");
  label(svg, 0, oy + U + 30, `y[${o}] = ${products}`, {family: "monospace"});
  label(svg, 0, oy + U + 56, `     = ${values} = ${fmt(total)}`, {family: "monospace"});
  const numbers = {output_length: nOut, position: o, taps, terms, total, output: y[o], y};
  return {node: svg, numbers, fix: o !== s.position ? {position: o} : null};
}

export default view(draw);
