// Unfold / Fold view (convlab.viz.unfold.UnfoldView), three rows of small integer arrays:
// Unfold: the padded input (channels side by side, the selected block's taps outlined) and its column
// matrix cols = F.unfold(x), entries coloured by their input channel, padding zeros grey, the block's column
// outlined; Conv = matmul: W @ cols reshaped to the output channels (= F.conv2d); ConvTranspose = fold:
// fold(Wᵀ @ y), the overlapping blocks summed back into place (= F.conv_transpose2d).
// The arrays are drawn once per geometry; moving the block (Play) only redraws the outlines on top.
const WIDTH = 1160;
const drawn = new WeakMap();                       // model -> {key, node, overlay, places}

function tint(hex, share) {                       // `hex` blended with white, `share` of the colour kept
  const n = parseInt(hex.slice(1), 16), ch = [n >> 16, (n >> 8) & 255, n & 255];
  return "#" + ch.map(v => Math.round(255 - share * (255 - v)).toString(16).padStart(2, "0")).join("");
}

function matmul(a, b) {
  return a.map(row => b[0].map((_, j) => row.reduce((acc, v, t) => acc + v * b[t][j], 0)));
}

// A row of matrices (items: {a, fill(r, c), title}) and operators (strings), cells sized so the row fits
// WIDTH and at most `maxH` units high. Returns the row's height and where each matrix went ({x, top, u}).
function matrixRow(svg, y0, title, items, maxH) {
  const gap = 22, opW = (op) => Math.max(54, 11 * op.length + 20);
  const mats = items.filter(it => typeof it !== "string");
  const cols = mats.reduce((n, m) => n + m.a[0].length, 0), rows = Math.max(...mats.map(m => m.a.length));
  const fixed = items.filter(it => typeof it === "string").reduce((n, op) => n + opW(op), 0) + mats.length * gap;
  const u = Math.max(8, Math.min(40, (WIDTH - fixed) / cols, maxH / rows));
  const showValues = u >= 22, font = Math.min(STYLE.FONT, Math.round(u * 0.5));
  if (title) label(svg, 0, y0 + 20, title, {weight: "bold"});
  const top = y0 + 58, places = [];
  let x = 0;
  for (const it of items) {
    if (typeof it === "string") {
      label(svg, x + opW(it) / 2, top + rows * u / 2 + 6, it, {anchor: "middle", fontSize: STYLE.FONT + 2});
      x += opW(it);
      continue;
    }
    label(svg, x, top - 8, it.title, {fontSize: STYLE.SMALL + 2});
    // few elements: one path per fill colour, one path for the grid lines, one group of values
    const a = it.a, n = a.length, m = a[0].length, fills = new Map(), texts = [], uu = +u.toFixed(2);
    for (let r = 0; r < n; r++) for (let c = 0; c < m; c++) {
      const cx = +(x + c * u).toFixed(1), cy = +(top + r * u).toFixed(1), f = it.fill(r, c);
      fills.set(f, (fills.get(f) || "") + `M${cx} ${cy}h${uu}v${uu}h${-uu}z`);
      if (showValues) texts.push(`<text x="${+(cx + u / 2).toFixed(1)}" y="${+(cy + u / 2).toFixed(1)}">${fmt(a[r][c])}</text>`);
    }
    for (const [f, dPath] of fills) svg.parts.push(`<path fill="${f}" d="${dPath}"/>`);
    let grid = "";
    for (let r = 0; r <= n; r++) grid += `M${x} ${+(top + r * u).toFixed(1)}h${+(m * u).toFixed(1)}`;
    for (let c = 0; c <= m; c++) grid += `M${+(x + c * u).toFixed(1)} ${top}v${+(n * u).toFixed(1)}`;
    svg.parts.push(`<path fill="none" stroke="${STYLE.EDGE}" stroke-width="1" d="${grid}"/>`);
    if (showValues) svg.parts.push(`<g fill="${STYLE.TEXT}" font-size="${font}" text-anchor="middle" ` +
                                   `dominant-baseline="central">${texts.join("")}</g>`);
    places.push({x, top, u, rows: a.length});
    x += Math.max(a[0].length * u, 7.5 * it.title.length) + gap;
  }
  if (!showValues) label(svg, 0, top + rows * u + 20, "(too many cells in this row to write their values)",
                         {color: STYLE.MUTED_TEXT, fontSize: STYLE.SMALL + 2});
  return {height: 58 + rows * u + 28, places};
}

function draw(s, model) {
  const x = s.x, C = x.length, H = x[0].length, W = x[0][0].length;
  const k = s.kernel_size, st = s.stride, p = s.padding, d = s.dilation, w = s.weights[k - 1], Co = w.length;
  const reach = d * (k - 1) + 1, Hp = H + 2 * p, Wp = W + 2 * p;
  const head = `F.unfold(x, kernel_size=${k}, dilation=${d}, padding=${p}, stride=${st}) on x of shape (1, ${C}, ${H}, ${W})`;
  const color = (c) => c < 0 ? STYLE.PAD_ZERO : tint(STYLE.GROUP_COLORS[c % STYLE.GROUP_COLORS.length], 0.35);
  const inside = (r, q) => r >= p && r < p + H && q >= p && q < p + W;
  const padded = x.map(ch => Array.from({length: Hp}, (_, r) => Array.from({length: Wp}, (_, q) =>
    inside(r, q) ? ch[r - p][q - p] : 0)));
  const inputs = padded.map((a, c) => ({a, title: `x[${c}] padded`, fill: (r, q) => inside(r, q) ? color(c) : STYLE.PAD_ZERO}));
  if (Hp < reach || Wp < reach) {
    drawn.delete(model);
    const svg = canvas(WIDTH, 420, head);
    label(svg, 0, 22, head, {weight: "bold"});
    const row = matrixRow(svg, 30, "the padded input", inputs, 320);
    label(svg, 0, 30 + row.height + 10, `No block fits: the kernel reaches dilation·(kernel_size−1)+1 = ${reach} cells, ` +
          `more than the ${Hp}×${Wp} padded input (convlab and torch raise).`, {color: STYLE.WRONG});
    return {node: svg, numbers: {error: true}};
  }
  const Lh = Math.floor((Hp - reach) / st) + 1, Lw = Math.floor((Wp - reach) / st) + 1, L = Lh * Lw, R = C * k * k;
  const block = Math.max(s.block, 0) % L, bi = Math.floor(block / Lw), bj = block % Lw;
  const taps = [];
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) taps.push([bi * st + a * d, bj * st + b * d]);
  // cols[c·k·k + a·k + b][l]: block l's tap (a, b) in channel c, read in the padded input
  const cols = [], source = [];
  for (let c = 0; c < C; c++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    const row = [], src = [];
    for (let l = 0; l < L; l++) {
      const r = Math.floor(l / Lw) * st + a * d, q = (l % Lw) * st + b * d;
      row.push(padded[c][r][q]); src.push(inside(r, q) ? c : -1);
    }
    cols.push(row); source.push(src);
  }
  const w2d = w.map(wo => wo.flat(2));                                   // (C_out, R)
  const product = matmul(w2d, cols);                                     // (C_out, L)
  const conv = product.map(row => Array.from({length: Lh}, (_, i) => row.slice(i * Lw, (i + 1) * Lw)));
  const y = Array.from({length: Co}, (_, co) => Array.from({length: Lh}, (_, i) => Array.from({length: Lw},
    (_, j) => ((co * L + i * Lw + j) % 3) + 1)));
  const y2d = y.map(ch => ch.flat());                                    // (C_out, L)
  const wT = w2d[0].map((_, r) => w2d.map(row => row[r]));               // (R, C_out)
  const tCols = matmul(wT, y2d);                                         // (R, L)
  const Hf = (Lh - 1) * st - 2 * p + reach, Wf = (Lw - 1) * st - 2 * p + reach;
  const folded = Array.from({length: C}, () => Array.from({length: Hf}, () => new Array(Wf).fill(0)));
  for (let c = 0; c < C; c++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let l = 0; l < L; l++) {
    const r = Math.floor(l / Lw) * st + a * d - p, q = (l % Lw) * st + b * d - p;
    if (r >= 0 && r < Hf && q >= 0 && q < Wf) folded[c][r][q] += tCols[c * k * k + a * k + b][l];
  }
  const numbers = {blocks: [Lh, Lw], cols_shape: [R, L], block, position: [bi, bj], taps, cols, source, product,
                   conv, y, t_cols: tCols, folded};
  // the arrays: drawn again only when the geometry (or the data) changed
  const key = [k, st, p, d].join(",");
  let cached = drawn.get(model);
  if (!cached || cached.key !== key || cached.x !== x || cached.w !== s.weights) {
    const svg = canvas(WIDTH, 10, head);
    label(svg, 0, 22, head, {weight: "bold"});
    let y0 = 30;
    const rowA = matrixRow(svg, y0, "", [...inputs, "→",
      {a: cols, title: `F.unfold(x): ${R}×${L}  (C·kh·kw × L)`, fill: (r, q) => color(source[r][q])}], 400);
    y0 += rowA.height;
    const rowB = matrixRow(svg, y0, `Conv = matmul: W = weight.reshape(${Co}, -1) is ${Co}×${R}; W @ cols, reshaped, is F.conv2d(x, weight)`, [
      {a: w2d, title: "W", fill: () => STYLE.KERNEL}, "@ cols",
      {a: product, title: "W @ cols", fill: () => STYLE.OUTPUT}, "→",
      ...conv.map((a, co) => ({a, title: `out[${co}]`, fill: () => STYLE.OUTPUT}))], 200);
    y0 += rowB.height;
    const rowC = matrixRow(svg, y0, `ConvTranspose = fold(Wᵀ @ y), y of shape (${Co}, ${Lh}, ${Lw}): fold sums the overlapping blocks, = F.conv_transpose2d(y, weight)`, [
      {a: wT, title: "Wᵀ", fill: () => STYLE.KERNEL}, "@",
      {a: y2d, title: "y", fill: () => STYLE.INPUT}, "=",
      {a: tCols, title: "columns", fill: () => STYLE.PAD_COPY}, "fold",
      ...folded.map((a, c) => ({a, title: `out[${c}]`, fill: () => STYLE.OUTPUT}))], 400);
    svg.height = y0 + rowC.height + 10;
    svg.parts.push('<g class="block-overlay"></g>');
    const node = svgNode(svg);
    cached = {key, x, w: s.weights, node, overlay: node.querySelector(".block-overlay"),
              places: {inputs: rowA.places.slice(0, C), cols: rowA.places[C], product: rowB.places[1],
                       conv: rowB.places.slice(2), y: rowC.places[1], tCols: rowC.places[2]}};
    drawn.set(model, cached);
  }
  // the block: its title, its taps in every channel, its column wherever one stands for it, its output cell
  const P = cached.places, parts = [];
  const box = (pl, c, r, n, width, colour) => parts.push(`<rect x="${pl.x + c * pl.u - 2}" y="${pl.top + r * pl.u - 2}" ` +
    `width="${pl.u * (width || 1) + 4}" height="${pl.u * n + 4}" fill="none" stroke="${colour || STYLE.WINDOW}" stroke-width="4" rx="3"/>`);
  parts.push(`<text x="0" y="50" font-size="${STYLE.FONT}" font-weight="bold" fill="${STYLE.TEXT}">Unfold: block ${block} at (${bi}, ${bj}) → column ${block}</text>`);
  for (const pl of P.inputs) for (const [r, q] of taps) box(pl, q + 0.1, r + 0.1, 0.8, 0.8, STYLE.TAP_EDGE);
  for (const pl of [P.cols, P.product, P.y, P.tCols]) box(pl, block, 0, pl.rows);
  for (const pl of P.conv) box(pl, bj, bi, 1);
  cached.overlay.innerHTML = parts.join("");
  cached.overlay.setAttribute("class", "block-overlay window");
  return {node: cached.node, numbers, fix: block !== s.block ? {block} : null};
}

export default view(draw);
