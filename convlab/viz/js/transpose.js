// Transposed-convolution view (convlab.viz.transpose.TransposeView): a one-channel ConvTranspose1d/2d four
// ways, each computed here on its own — 1 scatter-add (the stamp of input cell `index`, the sum of the
// stamps so far), 2 zero insertion + flipped kernel + stride-1 conv, 3 the matrix C of the matching Conv
// and Cᵀx, 4 the gradient of that Conv w.r.t. its input — and, in 1-d, the input lengths a Conv maps to
// the input size, the one output_padding picks outlined. Every array is a grid (1-d: one row).
const W = 1100, GAP = 18;
const ID = {n: 1, k: 1, s: 1, p: 0, op: 0, d: 1};        // the row axis of a 1-d view
const grid = (R, C) => ({R, C, a: new Array(R * C).fill(0)});
const flat = (v) => (Array.isArray(v[0]) ? v.flat() : v.slice());
const asList = (g, nd) => (nd === 1 ? g.a.slice() : Array.from({length: g.R}, (_, r) => g.a.slice(r * g.C, (r + 1) * g.C)));
const tuple = (t) => (t.length === 1 ? `(${t[0]},)` : `(${t.join(", ")})`);

// one block of cells at (x0, y0), cell side U; colour(i) and text(i) per flat index
function block(svg, x0, y0, U, g, colour, text, heading) {
  if (heading) label(svg, x0, y0 - 6, heading, {fontSize: STYLE.SMALL + 3});
  const small = U < 20, fs = Math.min(STYLE.FONT, Math.round(U * 0.48));
  for (let r = 0; r < g.R; r++) for (let c = 0; c < g.C; c++) {
    const i = r * g.C + c;
    cell(svg, x0 + c * U, y0 + r * U, U, colour(i), small ? "" : text(i), {fontSize: fs, strokeWidth: small ? 0.3 : 1});
  }
  return {x: x0, y: y0, U, w: g.C * U, h: g.R * U};
}
const box = (svg, x, y, w, h, colour, dash) => el("rect", {x, y, width: w, height: h, fill: "none", stroke: colour,
  "stroke-width": 3, "stroke-dasharray": dash, rx: 3}, svg);
const valueText = (g) => (i) => (g.a[i] ? fmt(g.a[i]) : "");

function draw(s) {
  const nd = s.dims, n = s.size, k = s.kernel_size, st = s.stride, d = s.dilation;
  const op = Math.min(s.output_padding, Math.max(st, d) - 1);
  const full = (n - 1) * st + d * (k - 1) + op + 1;                    // the output size with padding 0
  const p = Math.min(s.padding, Math.max(0, Math.floor((full - 1) / 2)));
  const ncells = Math.pow(n, nd), index = Math.max(s.index, 0) % ncells;
  const B = {n, k, s: st, p, op, d}, A = nd === 1 ? [ID, B] : [B, B];
  const x = {R: A[0].n, C: A[1].n, a: flat(s.inputs[n - 1])}, w = {R: A[0].k, C: A[1].k, a: flat(s.kernels[k - 1])};
  const out = A.map(a => (a.n - 1) * a.s - 2 * a.p + a.d * (a.k - 1) + a.op + 1);
  const canv = out.map((o, i) => o + 2 * A[i].p);
  const cell0 = [Math.floor(index / x.C), index % x.C];
  // 1 scatter-add: stamp j puts x[j]·w at j·stride + t·dilation on the uncropped canvas
  const stampOf = (j) => {
    const g = grid(canv[0], canv[1]), i0 = Math.floor(j / x.C), i1 = j % x.C, taps = new Set();
    for (let t0 = 0; t0 < w.R; t0++) for (let t1 = 0; t1 < w.C; t1++) {
      const q = (i0 * A[0].s + t0 * A[0].d) * g.C + i1 * A[1].s + t1 * A[1].d;
      g.a[q] += x.a[j] * w.a[t0 * w.C + t1];
      taps.add(q);
    }
    return [g, taps];
  };
  const [stamp, tapSet] = stampOf(index), taps = [...tapSet].sort((a, b) => a - b);
  const canvasSum = grid(canv[0], canv[1]);
  for (let j = 0; j <= index; j++) stampOf(j)[0].a.forEach((v, q) => { canvasSum.a[q] += v; });
  const crop = (g) => { const o = grid(out[0], out[1]);
    for (let r = 0; r < o.R; r++) for (let c = 0; c < o.C; c++) o.a[r * o.C + c] = g.a[(r + A[0].p) * g.C + c + A[1].p];
    return o; };
  const partial = crop(canvasSum);
  // 2 zero insertion: stride−1 zeros between cells, d·(k−1)−p zeros each side (+output_padding at the end)
  const dil = A.map(a => (a.n - 1) * a.s + 1), edges = A.map(a => [a.d * (a.k - 1) - a.p, a.d * (a.k - 1) - a.p + a.op]);
  const z = grid(dil[0] + edges[0][0] + edges[0][1], dil[1] + edges[1][0] + edges[1][1]), roles = grid(z.R, z.C);
  for (let r = 0; r < z.R; r++) for (let c = 0; c < z.C; c++) {
    const q = [r - edges[0][0], c - edges[1][0]], i = r * z.C + c;
    if (q.some((v, a) => v < 0 || v >= dil[a])) roles.a[i] = 2;
    else if (q.every((v, a) => v % A[a].s === 0)) z.a[i] = x.a[(q[0] / A[0].s) * x.C + q[1] / A[1].s];
    else roles.a[i] = 1;
  }
  const flipped = {R: w.R, C: w.C, a: w.a.slice().reverse()};
  const zo = grid(z.R - A[0].d * (w.R - 1), z.C - A[1].d * (w.C - 1));
  for (let r = 0; r < zo.R; r++) for (let c = 0; c < zo.C; c++) {
    let v = 0;
    for (let t0 = 0; t0 < w.R; t0++) for (let t1 = 0; t1 < w.C; t1++)
      v += z.a[(r + t0 * A[0].d) * z.C + c + t1 * A[1].d] * flipped.a[t0 * w.C + t1];
    zo.a[r * zo.C + c] = v;
  }
  // 3 matrix: C of the Conv from the output size back (rows: its outputs, columns: its inputs), then Cᵀx
  const cs = A.map((a, i) => Math.floor((out[i] + 2 * a.p - a.d * (a.k - 1) - 1) / a.s) + 1);
  const M = cs[0] * cs[1], N = out[0] * out[1], C = grid(M, N), xc = grid(M, 1), grad = grid(out[0], out[1]);
  for (let r = 0; r < x.R; r++) for (let c = 0; c < x.C; c++) xc.a[r * cs[1] + c] = x.a[r * x.C + c];
  for (let o0 = 0; o0 < cs[0]; o0++) for (let o1 = 0; o1 < cs[1]; o1++)
    for (let t0 = 0; t0 < w.R; t0++) for (let t1 = 0; t1 < w.C; t1++) {
      const i0 = o0 * A[0].s - A[0].p + t0 * A[0].d, i1 = o1 * A[1].s - A[1].p + t1 * A[1].d;
      if (i0 < 0 || i0 >= out[0] || i1 < 0 || i1 >= out[1]) continue;
      const o = o0 * cs[1] + o1, wt = w.a[t0 * w.C + t1];
      C.a[o * N + i0 * out[1] + i1] += wt;
      grad.a[i0 * out[1] + i1] += xc.a[o] * wt;            // 4: the Conv's input gradient with grad_output = x
    }
  const ctx = grid(out[0], out[1]);
  for (let j = 0; j < N; j++) for (let o = 0; o < M; o++) ctx.a[j] += xc.a[o] * C.a[o * N + j];

  // ---- drawing: 1-d in two columns (ways 1, 2 | ways 3, 4 and the lengths), 2-d in one
  const head = `ConvTranspose${nd}d(1, 1, kernel_size=${k}, stride=${st}, padding=${p}, output_padding=${op}, ` +
               `dilation=${d}): input ${tuple(nd === 1 ? [n] : [n, n])} → output ${tuple(nd === 1 ? [out[1]] : out)}`;
  const svg = canvas(W, 100, head);
  label(svg, 0, 20, head, {weight: "bold", fontSize: nd === 1 ? STYLE.FONT - 1 : STYLE.FONT - 2});
  const cols = nd === 1 ? [{x: 0, y: 30, w: 530}, {x: 570, y: 30, w: 530}] : [{x: 0, y: 30, w: W}, {x: 0, y: 30, w: W}];
  let col = cols[0];
  const wrap = (t, width) => {                     // lines of at most `width` characters, split at spaces
    const lines = [""];
    for (const word of t.split(" ")) {
      const last = lines[lines.length - 1];
      if (last && (last + " " + word).length > width) lines.push(word); else lines[lines.length - 1] = last ? last + " " + word : word;
    }
    return lines;
  };
  const title = (t, note) => {
    col.y += 34;
    label(svg, col.x, col.y, t, {weight: "bold"});
    for (const line of note ? wrap(note, Math.floor(col.w / 8.6)) : []) {
      col.y += 22;
      label(svg, col.x, col.y, line, {fontSize: STYLE.SMALL + 3, color: STYLE.MUTED_TEXT});
    }
    col.y += 34;
  };
  const fits = (ncols, rows) => Math.max(4, Math.min(40, (col.w - 10) / ncols, rows ? 360 / rows : 40));
  const outFill = (g) => (i) => (g.a[i] ? STYLE.OUTPUT : STYLE.GAP);
  const inside = (q) => { const r = Math.floor(q / canv[1]), c = q % canv[1];
    return r >= A[0].p && r < A[0].p + out[0] && c >= A[1].p && c < A[1].p + out[1]; };
  const stampFill = (q) => (tapSet.has(q) ? STYLE.KERNEL : inside(q) ? STYLE.GAP : STYLE.PAD_ZERO);
  const stampText = (q) => (tapSet.has(q) ? fmt(stamp.a[q]) : "");
  const cellName = nd === 1 ? `[${index}]` : `[${cell0[0]}, ${cell0[1]}]`;
  const ws = nd === 1 ? `${cell0[1] * st}` : `[${cell0[0] * st}, ${cell0[1] * st}]`;
  // blocks one under the other (1-d) or side by side (2-d); returns where each went
  const place = (blocks, offsets) => {
    if (nd === 1) {
      const U = fits(Math.max(...blocks.map((b, j) => b[0].C + (offsets[j] || 0))) + 1);
      const at = blocks.map((b, j) => { const r = block(svg, col.x + (offsets[j] || 0) * U, col.y, U, ...b); col.y += U + 34; return r; });
      col.y -= 34;
      return at;
    }
    const U = fits(blocks.reduce((t, b) => t + b[0].C + 2, 0), Math.max(...blocks.map(b => b[0].R)));
    let x0 = col.x;
    const at = blocks.map(b => { const r = block(svg, x0, col.y, U, ...b); x0 += (b[0].C + 2) * U; return r; });
    col.y += Math.max(...blocks.map(b => b[0].R)) * U;
    return at;
  };
  title("1  scatter-add: each input cell stamps x[i]·weight",
        `cell ${cellName} stamps from ${ws} = index·stride; output = canvas minus padding=${p} each side (grey)`);
  const pos = place([[x, () => STYLE.INPUT, (i) => fmt(x.a[i]), "x"], [w, () => STYLE.KERNEL, (i) => fmt(w.a[i]), "weight"],
                     [stamp, stampFill, stampText, `x${cellName}·weight`],
                     [partial, outFill(partial), valueText(partial), `sum of ${index + 1}/${ncells} stamps`]],
                    [0, 0, 0, nd === 1 ? p : 0]);
  box(svg, pos[0].x + cell0[1] * pos[0].U, pos[0].y + cell0[0] * pos[0].U, pos[0].U, pos[0].U, STYLE.WINDOW);
  const ext = A.map(a => a.d * (a.k - 1) + 1), U2 = pos[2].U;
  box(svg, pos[2].x + cell0[1] * A[1].s * U2, pos[2].y + cell0[0] * A[0].s * U2, ext[1] * U2, ext[0] * U2, STYLE.ACTIVE, "6 4");

  const edgeText = edges.slice(nd === 1 ? 1 : 0).map(e => `${d}·(${k}−1)−${p} = ${e[0]}`).join(", ");
  title("2  zero insertion + flipped kernel + ordinary conv",
        `${st - 1} zero(s) between cells (stride−1); each side d·(k−1)−p: ${edgeText}` +
        (op ? `; +output_padding ${op} at the end` : "") + (edges[1][0] < 0 ? "  (negative: crop)" : ""));
  const roleFill = [STYLE.INPUT, STYLE.INSERTED_ZERO, STYLE.PAD_ZERO];
  place([[z, (i) => roleFill[roles.a[i]], (i) => (roles.a[i] === 0 ? fmt(z.a[i]) : nd === 1 ? "0" : ""), "zero-inserted input"],
         [flipped, () => STYLE.KERNEL, (i) => fmt(flipped.a[i]), "weight flipped"],
         [zo, outFill(zo), valueText(zo), `conv (stride 1, dilation ${d})`]], []);

  col = cols[1];
  if (nd === 2) col.y = cols[0].y;
  const outShape = nd === 1 ? [out[1]] : out, convShape = nd === 1 ? [cs[1]] : cs;
  title(`3  matrix view: Cᵀ applied to x   (C: ${M}×${N})`,
        `C: Conv ${tuple(outShape)} → ${tuple(convShape)}, flattened; out[j] = Σ x[o]·C[o, j]`);
  {
    const U = fits(N + 2, M + 2), X = col.x;
    block(svg, X, col.y, U, xc, () => STYLE.INPUT, (i) => fmt(xc.a[i]), "x");
    if (U >= 20) block(svg, X + 2 * U, col.y, U, C, (i) => (C.a[i] ? STYLE.KERNEL : STYLE.GAP), valueText(C), "C");
    else {                               // small cells: the zeros as one white sheet, the taps on it
      label(svg, X + 2 * U, col.y - 6, "C", {fontSize: STYLE.SMALL + 3});
      el("rect", {x: X + 2 * U, y: col.y, width: N * U, height: M * U, fill: STYLE.GAP, stroke: STYLE.EDGE}, svg);
      C.a.forEach((v, i) => { if (v) el("rect", {x: X + 2 * U + (i % N) * U, y: col.y + Math.floor(i / N) * U, width: U,
                                                  height: U, fill: STYLE.KERNEL, stroke: STYLE.EDGE, "stroke-width": 0.3}, svg); });
    }
    col.y += M * U + 34;
    const row = {R: 1, C: N, a: ctx.a};
    block(svg, X + 2 * U, col.y, U, row, outFill(row), valueText(row), "Cᵀx");
    col.y += U;
  }
  const same = index === ncells - 1 ? [zo, ctx, grad].every(g => g.a.every((v, i) => Math.abs(v - partial.a[i]) < 1e-9)) : null;
  title("4  gradient of the Conv w.r.t. its input",
        `grad.conv${nd}d_input(input_size=${tuple([1, 1, ...outShape])}, weight, grad_output=x)`);
  place([[grad, outFill(grad), valueText(grad), "d(Conv)/d(input) applied to x"]], []);
  {
    const agree = [zo, ctx].every(g => g.a.every((v, i) => Math.abs(v - grad.a[i]) < 1e-9));
    const verdict = agree ? "ways 2, 3 and 4 give the same output" +
      (same === null ? "; way 1 too once every cell has stamped (play to the last cell)" : same ? ", and so does way 1 ✓" : "")
      : "the ways differ ✗";
    for (const line of wrap(verdict, Math.floor(col.w / 11.5))) {
      col.y += 30;
      label(svg, col.x, col.y, line, {color: agree ? STYLE.CORRECT : STYLE.WRONG, weight: "bold"});
    }
  }
  const numbers = {output_size: outShape, padding: p, output_padding: op, index,
                   cell: nd === 1 ? [index] : cell0, input: asList(x, nd), weight: asList(w, nd),
                   stamp: asList(stamp, nd), taps, partial: asList(partial, nd),
                   zero_inserted: asList(z, nd), roles: asList(roles, nd), edges: nd === 1 ? [edges[1]] : edges,
                   flipped: asList(flipped, nd), zero_insertion: asList(zo, nd),
                   C: Array.from({length: M}, (_, r) => C.a.slice(r * N, (r + 1) * N)), matrix: asList(ctx, nd),
                   gradient: asList(grad, nd)};
  if (nd === 1) {                       // 5: which input lengths a Conv maps to n, and which one we build
    const lo = (n - 1) * st - 2 * p + d * (k - 1) + 1, chosen = lo + op, span = d * (k - 1) + 1;
    const candidates = [];
    for (let m = lo; m <= lo + st - 1; m++) if (m >= 1) candidates.push(m);
    const set = new Set([chosen]);
    for (let m = lo - 1; m <= lo + st; m++) if (m >= 1) set.add(m);
    const lengths = [...set].sort((a, b) => a - b);
    const rows = lengths.map(m => [m, Math.max(Math.floor((m + 2 * p - span) / st) + 1, 0)]);
    title(`5  ${candidates.join(" and ") || "no length"} → ${n}: output_padding=${op} picks ${chosen}`,
          `Conv(k=${k}, s=${st}, p=${p}, d=${d}) on each length; grey: padding, faded: read by no window`);
    const U = Math.min(30, (col.w - 190) / (Math.max(...lengths) + 2 * p));
    for (const [m, o] of rows) {
      const total = m + 2 * p, read = new Array(total).fill(false);
      for (let j = 0; j < o; j++) for (let t = 0; t < k; t++) read[j * st + t * d] = true;
      const g = {R: 1, C: total, a: new Array(total).fill(0)};
      block(svg, col.x, col.y, U, g, (i) => (i < p || i >= total - p ? STYLE.PAD_ZERO : read[i] ? STYLE.INPUT : STYLE.MUTED), () => "");
      label(svg, col.x + total * U + 10, col.y + U * 0.75, `L_in=${m} → L_out=${o}` + (o === n ? " ✓" : ""),
            {weight: m === chosen ? "bold" : undefined, color: o === n ? STYLE.TEXT : STYLE.MUTED_TEXT,
             fontSize: STYLE.FONT - 1});
      if (m === chosen) box(svg, col.x - 3, col.y - 3, total * U + 6, U + 6, STYLE.ACTIVE);
      col.y += U + 10;
    }
    Object.assign(numbers, {candidates, chosen, rows});
  }
  const y = Math.max(cols[0].y, cols[1].y);
  svg.height = y + 20;
  const fix = {};
  if (op !== s.output_padding) fix.output_padding = op;
  if (p !== s.padding) fix.padding = p;
  if (index !== s.index) fix.index = index;
  return {node: svg, numbers, fix: Object.keys(fix).length ? fix : null};
}

export default view(draw);
