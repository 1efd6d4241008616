// Predict-then-check view (convlab.viz.predict.PredictView). Python put the right answer and the
// verdict of every typical wrong answer (convlab.quiz.check) in the state; this only reads the
// reader's numbers, finds the matching verdict and shows it. The answer stays hidden until asked for.
function parseAnswer(text) {                       // convlab.quiz.parse_answer
  const nums = String(text).replace(/Size/g, " ").match(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g) || [];
  return nums.map(Number);
}
const same = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-9);
const tuple = (t) => t.length === 1 ? String(t[0]) : "(" + t.join(", ") + ")";

function verdictFor(s) {
  const given = parseAnswer(s.answer);
  if (!given.length) return {correct: false, mistakes: [], unreadable: true,
    message: `I could not read a number in "${s.answer}". The answer is ${tuple(s.expected)}.`};
  const hit = s.verdicts.find(v => same(v.given, given));
  if (hit) return hit;
  return {correct: false, mistakes: [], message: s.other};
}

function draw(s, model) {
  const box = document.createElement("div");
  box.className = "convlab-quiz";
  const p = document.createElement("p");
  p.innerHTML = "<b>Predict:</b> ";
  p.appendChild(document.createTextNode(s.prompt));
  const row = document.createElement("div");
  row.className = "convlab-quiz-row";
  const id = "q" + Math.random().toString(36).slice(2);
  const lab = document.createElement("label");
  lab.textContent = "answer"; lab.htmlFor = id;
  const input = document.createElement("input");
  input.type = "text"; input.id = id; input.value = s.answer; input.placeholder = s.placeholder || "your prediction (a shape or a number)";
  input.setAttribute("aria-describedby", id + "-verdict");
  const check = document.createElement("button");
  check.textContent = "Check"; check.className = "convlab-check";
  const show = document.createElement("button");
  show.textContent = "Show answer"; show.className = "convlab-show";
  const submit = () => { model.set("answer", input.value); model.set("shown", "verdict"); model.save_changes(); };
  check.addEventListener("click", submit);
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
  show.addEventListener("click", () => { model.set("shown", "answer"); model.save_changes(); });
  row.append(lab, input, check, show);
  const out = document.createElement("div");
  out.id = id + "-verdict"; out.className = "convlab-verdict"; out.setAttribute("aria-live", "polite");
  box.append(p, row, out);
  const line = (text, cls) => { const d = document.createElement("div"); d.textContent = text; if (cls) d.className = cls; out.appendChild(d); return d; };
  let numbers = {shown: ""};
  if (s.shown === "answer") {
    line(`The answer is ${tuple(s.expected)}.`, "right");
    if (s.derivation) line(s.derivation, "mono");
    numbers = {shown: "answer", expected: s.expected};
  } else if (s.shown === "verdict") {
    const v = verdictFor(s);
    line(v.message, v.correct ? "right" : "wrong");
    if (s.derivation) line(s.derivation, "mono");
    (v.explanations || []).slice(1).forEach(e => line("or: " + e));
    numbers = {shown: "verdict", correct: v.correct, mistakes: v.mistakes, message: v.unreadable ? "unreadable" : v.message};
  }
  // keep the reader's focus in the box across repaints
  if (document.activeElement && document.activeElement.classList.contains("convlab-check"))
    setTimeout(() => check.focus(), 0);
  return {node: box, numbers};
}

export default view(draw);
