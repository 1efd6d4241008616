// Conv2d sliding-window view (convlab.viz.window.WindowView): the padded input (copied cells for
// reflect / replicate / circular), the window of output cell `position` (row-major) with its taps,
// the kernel, the output and the window's sum written out.
function draw(s) {
  const x = s.x, H = x.length, W = x[0].length, P = s.max_padding;
  const k = s.kernel_size, st = s.stride, p = s.padding, d = s.dilation, mode = s.padding_modes[s.padding_mode];
  const w = s.kernels[k - 1];
  const U = 40, top = 58, gap = 40;
  const inW = (W + 2 * P) * U, inH = (H + 2 * P) * U;
  const kx = inW + gap, ox = kx + 5 * U + gap;
  const reach = d * (k - 1) + 1;
  const Ho = H + 2 * p >= reach ? Math.floor((H + 2 * p - reach) / st) + 1 : 0;
  const Wo = W + 2 * p >= reach ? Math.floor((W + 2 * p - reach) / st) + 1 : 0;
  const head = `Conv2d(1, 1, kernel_size=${k}, stride=${st}, padding=${p}, dilation=${d}, padding_mode='${mode}'): input ${H}×${W}`;
  let error = null;
  if (mode === "reflect" && p >= Math.min(H, W)) error = `reflect padding must be smaller than the input size (padding=${p})`;
  else if (mode === "circular" && p > Math.min(H, W)) error = `circular padding must be at most the input size (padding=${p})`;
  else if (!Ho || !Wo) error = `the kernel reaches dilation·(kernel_size−1)+1 = ${reach} cells, more than the ${H + 2 * p}×${W + 2 * p} padded input`;
  const width = ox + (W + 2 * P) * U, height = top + inH + (error ? 60 : 40 + 26 * (k + 2));
  const svg = canvas(width, height, head);
  label(svg, 0, 20, head + (error ? "" : ` → output ${Ho}×${Wo}`), {weight: "bold"});
  const ix = (c) => (c + P) * U, iy = (r) => top + (r + P) * U;
  label(svg, ix(-p), top - 10, "input" + (p ? ` + padding (${mode})` : ""));
  for (let r = -p; r < H + p; r++) for (let c = -p; c < W + p; c++) {
    const inside = r >= 0 && r < H && c >= 0 && c < W;
    const sr = padIndex(r, H, mode), sc = padIndex(c, W, mode);
    const zero = sr === null || sc === null;
    cell(svg, ix(c), iy(r), U, inside ? STYLE.INPUT : zero ? STYLE.PAD_ZERO : STYLE.PAD_COPY,
         zero ? "0" : fmt(x[sr][sc]), {dy: inside || zero ? 0 : -6});
    if (!inside && !zero)                          // a copied cell names the input cell it copies
      label(svg, ix(c) + U / 2, iy(r) + U - 4, `←${sr},${sc}`, {anchor: "middle", fontSize: 10, color: STYLE.COPY_LABEL});
  }
  if (error) {
    label(svg, 0, top + inH + 34, "This layer cannot run: " + error + " (torch raises).", {color: STYLE.WRONG});
    return {node: svg, numbers: {error: true}};
  }
  const n = Ho * Wo, o = Math.max(s.position, 0) % n, i = Math.floor(o / Wo), j = o % Wo;
  const r0 = i * st - p, c0 = j * st - p;
  const taps = [], sources = [], terms = [];
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    const r = r0 + a * d, c = c0 + b * d;
    const sr = padIndex(r, H, mode), sc = padIndex(c, W, mode);
    const src = sr === null || sc === null ? null : [sr, sc];
    taps.push([r, c]); sources.push(src); terms.push([src ? x[sr][sc] : 0, w[a][b]]);
    el("rect", {x: ix(c) + 4, y: iy(r) + 4, width: U - 8, height: U - 8, fill: "none", stroke: STYLE.TAP_EDGE, "stroke-width": 3}, svg);
  }
  el("rect", {x: ix(c0) - 2, y: iy(r0) - 2, width: reach * U + 4, height: reach * U + 4, fill: "none",
              stroke: STYLE.WINDOW, "stroke-width": 4, rx: 3, class: "window"}, svg);
  // kernel
  label(svg, kx, top - 10, `kernel ${k}×${k}` + (d > 1 ? `, dilation ${d}` : ""));
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) cell(svg, kx + b * U, top + a * U, U, STYLE.KERNEL, fmt(w[a][b]));
  // output, every cell computed here
  const y = [];
  for (let a = 0; a < Ho; a++) { const row = []; for (let b = 0; b < Wo; b++) {
    let sum = 0;
    for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) {
      const sr = padIndex(a * st - p + u * d, H, mode), sc = padIndex(b * st - p + v * d, W, mode);
      if (sr !== null && sc !== null) sum += x[sr][sc] * w[u][v];
    }
    row.push(sum); } y.push(row); }
  label(svg, ox, top - 10, `output ${Ho}×${Wo}`);
  for (let a = 0; a < Ho; a++) for (let b = 0; b < Wo; b++) {
    const on = a === i && b === j;
    cell(svg, ox + b * U, top + a * U, U, on ? STYLE.ACTIVE : STYLE.OUTPUT, fmt(y[a][b]),
         {color: on ? STYLE.ACTIVE_TEXT : STYLE.TEXT, fontSize: Math.abs(y[a][b]) >= 100 ? STYLE.SMALL : undefined});
  }
  const total = terms.reduce((acc, [a, b]) => acc + a * b, 0);
  const ty = top + inH + 34;
  label(svg, 0, ty, `y[${i}, ${j}] = sum over the window of input × kernel`, {family: "monospace"});
  for (let a = 0; a < k; a++) {
    const row = terms.slice(a * k, a * k + k).map(([u, v]) => `${fmtFactor(u)}·${fmtFactor(v)}`).join(" + ");
    label(svg, 0, ty + 26 * (a + 1), (a ? "  + " : "  = ") + row, {family: "monospace"});
  }
  label(svg, 0, ty + 26 * (k + 1), `  = ${fmt(total)}`, {family: "monospace", weight: "bold"});
  const numbers = {output_shape: [Ho, Wo], position: o, index: [i, j], window: {corner: [r0, c0], size: [reach, reach]},
                   taps, sources, terms, total, output: y[i][j], y, kernel: w};
  return {node: svg, numbers, fix: o !== s.position ? {position: o} : null};
}

export default view(draw);
