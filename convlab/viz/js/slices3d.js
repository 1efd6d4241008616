// Conv3d depth-slice view (convlab.viz.slices3d.Conv3dView): the input volume as a row of depth slices,
// each inside its ring of spatial zero padding (whole grey slices: depth padding), the slices output
// depth `depth` reads framed and named after the kernel slice that meets them, the output slice, and
// the sum written out.
function outSize(n, k, s, p, d) {
  const reach = d * (k - 1) + 1;
  return n + 2 * p >= reach ? Math.floor((n + 2 * p - reach) / s) + 1 : 0;
}

function draw(s) {
  const x = s.x, D = x.length, H = x[0].length, W = x[0][0].length;
  const k = s.kernel_size, st = s.stride, p = s.padding, dl = s.dilation, w = s.kernels[k - 1];
  const U = 40, ring = 10 * p, gapX = 30, perRow = 5, top = 64;     // the ring: 10 units per padding cell
  const slices = D + 2 * p, rows = Math.ceil(slices / perRow);
  const sliceW = W * U + 2 * ring, sliceH = H * U + 2 * ring, rowH = sliceH + 64;
  const shape = [D, H, W].map(n => outSize(n, k, st, p, dl));
  const head = `Conv3d(1, 1, kernel_size=${k}, stride=${st}, padding=${p}, dilation=${dl}): input (D, H, W) = (${D}, ${H}, ${W})`;
  const error = shape.includes(0);
  const outX = Math.min(slices, perRow) * (sliceW + gapX) + 20;
  const Ho = shape[1], Wo = shape[2];
  const width = Math.max(outX + (error ? 0 : Math.max(Wo * U, 220)) + 20, 1000);
  const height = top + rows * rowH + (error ? 50 : Math.max(0, Ho * U + 40 - rows * rowH) + 100);
  const svg = canvas(width, height, head);
  label(svg, 0, 22, head + (error ? "" : ` → output (${shape.join(", ")})`), {weight: "bold"});
  label(svg, 0, 48, "input depth slices" + (p ? `, padding ${p} (zeros) in D, H and W` : ""));
  const depth = error ? 0 : Math.max(s.depth, 0) % shape[0];
  const taps = [];
  for (let t = 0; t < k; t++) taps.push(depth * st - p + t * dl);
  const origin = (z) => { const n = z + p; return [(n % perRow) * (sliceW + gapX), top + Math.floor(n / perRow) * rowH + 20]; };
  for (let z = -p; z < D + p; z++) {
    const [sx, sy] = origin(z), real = z >= 0 && z < D;
    label(svg, sx + sliceW / 2, sy - 6, `z=${z}`, {anchor: "middle", color: real ? STYLE.TEXT : STYLE.MUTED_TEXT});
    el("rect", {x: sx, y: sy, width: sliceW, height: sliceH, fill: STYLE.PAD_ZERO, stroke: p ? STYLE.EDGE : "none"}, svg);
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++)
      cell(svg, sx + ring + c * U, sy + ring + r * U, U, real ? STYLE.INPUT : STYLE.PAD_ZERO, real ? fmt(x[z][r][c]) : "0",
           {color: real ? STYLE.TEXT : STYLE.MUTED_TEXT});
    if (error) continue;
    const hits = taps.map((zt, t) => zt === z ? t : -1).filter(t => t >= 0);
    if (hits.length) {
      el("rect", {x: sx - 4, y: sy - 4, width: sliceW + 8, height: sliceH + 8, fill: "none", stroke: STYLE.WINDOW,
                  "stroke-width": 4, rx: 3, class: "window"}, svg);
      label(svg, sx + sliceW / 2, sy + sliceH + 24, hits.map(t => `× kernel[${t}]`).join(" "),
            {anchor: "middle", color: STYLE.WINDOW, weight: "bold"});
    }
  }
  const ty = top + Math.max(rows * rowH, Ho * U + 40) + 20;
  if (error) {
    const reach = dl * (k - 1) + 1;
    label(svg, 0, top + rows * rowH + 20, `This layer cannot run: the kernel reaches dilation·(kernel_size−1)+1 = ${reach} cells, ` +
          `more than the padded input (${D + 2 * p}, ${H + 2 * p}, ${W + 2 * p}) (torch raises).`, {color: STYLE.WRONG});
    return {node: svg, numbers: {error: true}};
  }
  // the output slice: every kernel slice t over input slice taps[t], summed (zeros outside the input)
  const out = [];
  for (let i = 0; i < Ho; i++) { const row = []; for (let j = 0; j < Wo; j++) {
    let sum = 0;
    taps.forEach((z, t) => {
      if (z < 0 || z >= D) return;
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
        const r = i * st - p + a * dl, c = j * st - p + b * dl;
        if (r >= 0 && r < H && c >= 0 && c < W) sum += x[z][r][c] * w[t][a][b];
      }
    });
    row.push(sum); } out.push(row); }
  label(svg, outX, top + 14, `output depth ${depth} of ${shape[0]}`);
  label(svg, outX, top + 38, `(slice ${Ho}×${Wo})`, {color: STYLE.MUTED_TEXT});
  for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++)
    cell(svg, outX + j * U, top + 50 + i * U, U, STYLE.OUTPUT, fmt(out[i][j]));
  const parts = taps.map((z, t) => `kernel[${t}] ⋆ ` + (z >= 0 && z < D ? `input[z=${z}]` : `zeros (z=${z})`));
  label(svg, 0, ty, `output[${depth}] = ` + parts.join(" + "), {family: "monospace"});
  label(svg, 0, ty + 28, "(⋆ : a 2d convolution with the same stride, padding and dilation in H and W)", {color: STYLE.MUTED_TEXT});
  const numbers = {output_shape: shape, depth, taps, padding_slices: taps.filter(z => z < 0 || z >= D), output_slice: out};
  return {node: svg, numbers, fix: depth !== s.depth ? {depth} : null};
}

export default view(draw);
