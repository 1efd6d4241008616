// Channels and groups view (convlab.viz.channels.GroupsView): input channels joined to the output channels
// they feed (one line per connected pair, coloured by group), the weight's block structure (one cell per
// stored kernel), the parameter count with its derivation (the text of convlab.shapes.parameter_count),
// depthwise called out, and the groups that divide both channel counts on a number line. Groups that do
// not divide both counts are a layer torch refuses: the view says why, in its own words.
const TIMES = "·";

function gcd(a, b) { return b ? gcd(b, a % b) : a; }

function chainText(...forms) {                      // convlab.shapes._chain
  const kept = [String(forms[0])];
  for (const f of forms.slice(1).map(String)) if (f !== kept[kept.length - 1]) kept.push(f);
  return kept.join(" = ");
}

function draw(s) {
  const cin = s.in_channels, cout = s.out_channels, g = s.groups, k = s.kernel_size, tr = s.transposed;
  const common = gcd(cin, cout), valid = [];
  for (let d = 1; d <= common; d++) if (common % d === 0) valid.push(d);
  const ok = cin % g === 0 && cout % g === 0;
  const name = tr ? "nn.ConvTranspose1d" : "nn.Conv1d";
  const head = `${name}(${cin}, ${cout}, kernel_size=${k}, groups=${g})`;
  const R = 34, n = Math.max(cin, cout), top = 70, panelH = Math.max(n, 4) * R;
  const conX = 70, conW = 260;                        // input nodes at conX, output nodes at conX + conW
  const [rows, cols] = tr ? [cin, cout] : [cout, cin];
  const U = 30, wx = conX + conW + 150;
  const width = Math.max(wx + Math.max(cols * U, 360) + 20, 1000);
  const height = top + panelH + 230;
  const svg = canvas(width, height, head);
  label(svg, 0, 24, head + (ok ? "" : "  ✗ not a layer"), {weight: "bold", color: ok ? STYLE.TEXT : STYLE.WRONG});
  const color = (grp) => STYLE.GROUP_COLORS[grp % STYLE.GROUP_COLORS.length];
  const ys = (count) => Array.from({length: count}, (_, i) => top + 10 + (count > 1 ? i * (panelH - 20) / (count - 1) : (panelH - 20) / 2));
  const yi = ys(cin), yo = ys(cout);
  label(svg, conX - 50, top - 14, `in_channels=${cin} → out_channels=${cout}`);
  const pairs = [];
  if (ok) {
    const per = cin / g;
    for (let o = 0; o < cout; o++) {
      const grp = Math.floor(o / (cout / g));
      for (let i = grp * per; i < (grp + 1) * per; i++) {
        pairs.push([i, o]);
        el("line", {x1: conX, y1: yi[i], x2: conX + conW, y2: yo[o], stroke: color(grp), "stroke-width": 2.5, opacity: 0.85}, svg);
      }
    }
  }
  const node = (x, y, grp, text, anchor, square) => {
    const fill = grp === null ? STYLE.PAD_ZERO : color(grp);
    if (square) el("rect", {x: x - 9, y: y - 9, width: 18, height: 18, fill, stroke: STYLE.EDGE}, svg);
    else el("circle", {cx: x, cy: y, r: 10, fill, stroke: STYLE.EDGE}, svg);
    label(svg, anchor === "end" ? x - 16 : x + 16, y + 6, text, {anchor, fontSize: STYLE.SMALL + 2});
  };
  yi.forEach((y, i) => node(conX, y, ok ? Math.floor(i / (cin / g)) : null, `in ${i}`, "end", false));
  yo.forEach((y, o) => node(conX + conW, y, ok ? Math.floor(o / (cout / g)) : null, `out ${o}`, "start", true));
  // the weight: rows × cols kernels, the stored ones in their group's colour
  label(svg, wx, top - 14, `weight blocks (one cell = one kernel of ${k})`);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    let fill = ok ? STYLE.GAP : STYLE.PAD_ZERO;
    if (ok) { const grp = Math.floor(r / (rows / g)); if (Math.floor(c / (cols / g)) === grp) fill = color(grp); }
    cell(svg, wx + c * U, top + r * U, U, fill, "");
  }
  const [rname, cname] = tr ? ["in", "out"] : ["out", "in"];
  label(svg, wx, top + rows * U + 24, `rows: ${rname}_channels, columns: ${cname}_channels`, {fontSize: STYLE.SMALL + 2});
  const shape = ok ? (tr ? [cin, cout / g, k] : [cout, cin / g, k]) : null;
  if (ok) label(svg, wx, top + rows * U + 50, `weight.shape = (${shape.join(", ")})`, {weight: "bold"});
  // the text lines under the picture
  const ty = top + panelH + 40;
  let numbers;
  if (ok) {
    const a = tr ? cin : cout, b = tr ? cout : cin, nW = cin * cout / g * k;
    const text = "parameters: " + chainText(`${a}${TIMES}(${b}/${g})${TIMES}${k} + ${cout}`, `${a}${TIMES}${b / g}${TIMES}${k} + ${cout}`,
                                           `${nW} + ${cout}`, nW + cout);
    label(svg, 0, ty, `groups=${g}   ${text}`);
    label(svg, 0, ty + 28, `${pairs.length} connected channel pairs: each output channel reads ${cin / g} of the ${cin} input channels`);
    const depthwise = g === cin;
    if (depthwise) label(svg, 0, ty + 56, `depthwise: groups == in_channels, ${Math.floor(cout / cin)} filter(s) per input channel`,
                         {weight: "bold", color: STYLE.WINDOW});
    numbers = {valid_groups: valid, pairs, weight_shape: shape, parameters: nW + cout, parameter_text: text, depthwise};
  } else {
    const bad = [cin % g ? `in_channels=${cin}` : null, cout % g ? `out_channels=${cout}` : null].filter(Boolean);
    label(svg, 0, ty, `groups=${g} does not divide ${bad.join(" and ")}: the channels cannot split into ${g} equal groups,`,
          {color: STYLE.WRONG});
    label(svg, 0, ty + 28, `so torch refuses the layer (ValueError). Try one of the marked values below.`, {color: STYLE.WRONG});
    numbers = {error: true, valid_groups: valid};
  }
  // every value of the groups slider, the ones that divide both counts marked
  const ly = ty + 110, step = Math.min(60, (width - 300) / s.max_channels);
  label(svg, 0, ly - 12, "groups that divide both:");
  for (let v = 1; v <= s.max_channels; v++) {
    const x = 230 + (v - 1) * step, good = valid.includes(v), here = v === g;
    cell(svg, x, ly - 36, Math.min(step - 6, 40), here ? (good ? STYLE.ACTIVE : STYLE.WRONG) : good ? STYLE.OUTPUT : STYLE.GAP, String(v),
         {color: here ? STYLE.ACTIVE_TEXT : good ? STYLE.TEXT : STYLE.MUTED_TEXT, stroke: good ? STYLE.EDGE : STYLE.GAP_EDGE,
          dash: good ? undefined : "3 3", fontSize: STYLE.SMALL + 2});
  }
  return {node: svg, numbers};
}

export default view(draw);
