// The chat, drawn in the page (run by gr.HTML as js_on_load: `element` is the component,
// `server` calls the Python functions answer / progress / section / rate).
// The conversation is kept in localStorage, so a reload keeps it and the server keeps nothing.
// Text from a question, an answer or a document is only ever set with textContent; the one
// HTML that is inserted (a section) was escaped by assistant/ui/render.py.
const STORE_KEY = "kyodo-assistant.conversation.v1";
const THINKING = "回答を作成しています…";
const QUEUED = "前の質問の回答のあとに回答します…";
const FAILED = "エラーが発生しました。時間をおいてもう一度お試しください。";
const RATING_LABELS = { up: "👍 役に立った", down: "👎 役に立たなかった" };
// the optional comment asks what fits the rating given
const COMMENT_PROMPTS = {
  up: "コメント（任意）：よかった点など",
  down: "コメント（任意）：どこが違っていたか、何が知りたかったか など",
};

const log = element.querySelector(".chat-log");
const empty = element.querySelector(".chat-empty");
const end = element.querySelector(".chat-end"); // 会話をクリア, after the last turn
const form = element.querySelector(".chat-form");
const box = element.querySelector("#question-input");
const filterBox = element.querySelector(".doc-filter-box"); // a choice of document, with several
let turns = loadTurns();
let answering = null; // the turn being answered; the pending turns after it wait for it, in order
const nodes = new WeakMap(); // a turn's element in the log
let sourceViews = 0; // the ids of the answers' source views
let libraryBuild = null; // the index build whose documents the page shows

function loadTurns() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    return Array.isArray(stored) ? stored.filter((t) => t && typeof t.question === "string" && typeof t.answer === "string") : [];
  } catch {
    return [];
  }
}

function saveTurns() {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(turns.filter((t) => !t.pending)));
  } catch {
    // storage full or disabled: the conversation still works, it is just not kept
  }
}

// The UI writes digits full-width beside Japanese, as the guideline does (第１章, ２件).
function fullWidth(number) {
  return String(number).replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The text with each source label in it (■ 第５章（12）苫小牧市…, ［第３章（７）後援］) keeping the
// label's number on one line with its title's first character (the label's "held" piece, from the
// server): a label breaks between phrases, and 「第５章（12）」 stood alone at a line's end.
function heldNumbers(text, sources) {
  const labels = (sources || []).filter((s) => s.held && s.label.includes(s.held));
  const pieces = [];
  for (let rest = text; ; ) {
    let at = -1;
    let first = null;
    for (const source of labels) {
      const i = rest.indexOf(source.label);
      if (i !== -1 && (at === -1 || i < at)) [at, first] = [i, source];
    }
    if (!first) return [...pieces, rest];
    const start = at + first.label.indexOf(first.held);
    const end = start + first.held.length;
    pieces.push(rest.slice(0, start), make("span", "held-number", first.held));
    rest = rest.slice(end);
  }
}

function historyBefore(turn) {
  const messages = [];
  for (const t of turns) {
    if (t === turn) break;
    if (t.pending || t.error) continue;
    // the sections the answer cited travel as data: a follow-up leans on them
    const citations = (t.citations || []).map((c) => ({ doc_id: c.doc_id, section_id: c.section_id }));
    messages.push({ role: "user", content: t.question }, { role: "assistant", content: t.answer, citations });
  }
  return messages;
}

// Fit the chat to the window: the log is the one scroll area, the question box stays in view.
function fit() {
  if (!element.offsetParent) return; // the tab is hidden
  requestAnimationFrame(showJumps);
  const top = element.getBoundingClientRect().top + window.scrollY;
  const height = Math.max(260, window.innerHeight - top - 8);
  element.style.setProperty("--chat-height", `${height}px`);
  const over = document.scrollingElement.scrollHeight - window.innerHeight; // the page's own margins
  if (over > 0 && height - over >= 260) element.style.setProperty("--chat-height", `${height - over}px`);
}

// Scroll the log (not the page) so that `target` is in view: just enough when it fits, else its top
// at the top. What comes before an answer's rating row is in view above that row, which stays at
// the log's bottom while the answer runs below it.
function reveal(target, alignTop = false) {
  const logBox = log.getBoundingClientRect();
  const bar = target.closest(".turn")?.querySelector(".answer-actions");
  const covered = bar && target.compareDocumentPosition(bar) & Node.DOCUMENT_POSITION_FOLLOWING ? bar.offsetHeight : 0;
  const bottom = logBox.bottom - covered;
  const rect = target.getBoundingClientRect();
  if (alignTop || rect.top < logBox.top || rect.height > bottom - logBox.top - 16) {
    log.scrollTop += rect.top - logBox.top - 8;
  } else if (rect.bottom > bottom) {
    log.scrollTop += rect.bottom - bottom + 8;
  }
  showJumps();
}

// An opened source opens under its answer without taking the answer's first line out of view: a
// tall source aligned to the log's top pushed the answer being read away. The log scrolls as little
// as showing the source's heading needs, and no further than the answer's first line at the log's top
// (the source's start then shows under it, read on by scrolling); a first line that fits in the log
// with that heading comes back into view. Under a long answer read down to its sources, past its
// first line, the source opens with just its heading brought into view.
function revealSource(view, node) {
  const logBox = log.getBoundingClientRect();
  const bar = node.querySelector(".answer-actions"); // kept at the log's bottom, over what runs under it
  const covered = bar && getComputedStyle(bar).position === "sticky" ? bar.offsetHeight : 0;
  const top = logBox.top + 8;
  const bottom = logBox.bottom - covered - 8;
  const viewTop = view.getBoundingClientRect().top;
  const shown = Math.min((view.querySelector("h3") || view).getBoundingClientRect().bottom, viewTop + 120);
  const lead = node.querySelector(".answer-text").getBoundingClientRect().top;
  let by = viewTop < top ? viewTop - top : Math.max(0, shown - bottom);
  if (lead >= top || shown - lead <= bottom - top) by = Math.min(by, lead - top);
  log.scrollTop += by;
  showJumps();
}

// An answer longer than the log keeps its rating row at the log's bottom (CSS position: sticky) while
// the answer's sources are below the log's edge, and the row offers to go to them (出典 N件 ↓). Once
// any of the sources is in view the row goes back under them (.unstuck): kept at the bottom, it
// covered them. Unsticking moves nothing else (a sticky box keeps its place in the flow).
function showJumps() {
  const logBox = log.getBoundingClientRect();
  const edge = logBox.top + log.clientTop + log.clientHeight; // the visible part's bottom
  const rows = [];
  for (const bar of log.querySelectorAll(".answer-actions")) {
    const chips = bar.closest(".turn").querySelector(".sources");
    if (chips) rows.push([bar, chips.getBoundingClientRect().top >= edge - 1]);
  }
  for (const [bar, below] of rows) {
    bar.classList.toggle("unstuck", !below);
    bar.querySelector(".jump-button").hidden = !below;
  }
}
let jumpsFrame = 0;
log.addEventListener(
  "scroll",
  () => (jumpsFrame ||= requestAnimationFrame(() => ((jumpsFrame = 0), showJumps()))),
  { passive: true },
);

// 「リンクをコピー」 beside a section's link, here and in the guideline browser: the whole address
// (an <a>'s href property is absolute)
document.addEventListener("click", (event) => {
  const button = event.target.closest(".copy-link");
  const link = button?.closest(".share")?.querySelector("a.share-link");
  if (link) copyText(link.href, button);
});

async function openSource(turn, node, button, docId, sectionId) {
  const view = node.querySelector(".source-view");
  const same = view.dataset.section === sectionId && !view.hidden;
  for (const b of node.querySelectorAll(".source-button")) b.setAttribute("aria-expanded", "false");
  if (same && button) {
    view.hidden = true;
    view.dataset.section = "";
    return;
  }
  const quotes = (turn.citations || []).filter((c) => c.section_id === sectionId).map((c) => c.quote);
  let result;
  try {
    result = await server.section({ doc_id: docId, section_id: sectionId, quotes });
  } catch {
    result = { html: `<p class="notice">${FAILED}</p>` };
  }
  view.innerHTML = result.html;
  view.dataset.section = sectionId;
  view.hidden = false;
  if (button) button.setAttribute("aria-expanded", "true");
  revealSource(view, node);
}

async function rate(turn, node, rating, comment) {
  const status = node.querySelector(".rating-status");
  let result;
  try {
    result = await server.rate({ turn, rating, comment: comment || "", history: historyBefore(turn) });
  } catch {
    result = { saved: false, message: FAILED };
  }
  if (result.saved) {
    turn.rating = rating;
    saveTurns();
    markRating(turn, node);
  }
  status.textContent = result.message; // one line: what was saved, or why not
  if (!result.saved) return;
  const commentForm = node.querySelector(".comment-form");
  if (comment) {
    // a saved comment leaves the box: kept there, its text looked unsent and 「コメントを送る」
    // saved it again. Rating the answer again offers an empty box.
    const hadFocus = commentForm.contains(document.activeElement);
    commentForm.querySelector(".comment-input").value = "";
    commentForm.hidden = true;
    if (hadFocus) node.querySelector(".bot").focus({ preventScroll: true });
    reveal(status);
    return;
  }
  commentForm.hidden = false;
  reveal(commentForm); // the mark, the message and the comment box in view, on a phone too
}

// The pressed button and the answer's edge mark a rating; its one line of text says which (after a
// reload too) until a rating or comment is saved, when it says that instead.
function markRating(turn, node) {
  for (const b of node.querySelectorAll(".rate-button")) {
    b.setAttribute("aria-pressed", String(b.dataset.rating === turn.rating));
  }
  node.querySelector(".bot").classList.toggle("rated", Boolean(turn.rating));
  node.querySelector(".comment-prompt").textContent = COMMENT_PROMPTS[turn.rating] || "";
  node.querySelector(".rating-status").textContent = turn.rating
    ? `評価済み：${RATING_LABELS[turn.rating]}（押し直すと変更できます）`
    : "";
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = make("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "コピーしました";
  setTimeout(() => (button.textContent = label), 1500);
}

// How a word was read is said once in a conversation: the chain notes it each time the word is
// typed, twice in one question or again in a follow-up. Other notes tell of their own answer.
const READING = /^「[^」]+」を「[^」]+」として調べました。$/;
function notesToShow(turn) {
  const said = new Set();
  for (const t of turns) {
    if (t === turn) break;
    for (const note of t.notes || []) if (READING.test(note)) said.add(note);
  }
  return [...new Set(turn.notes || [])].filter((note) => !said.has(note));
}

function renderAnswer(turn, node) {
  const bubble = node.querySelector(".bot");
  const text = bubble.querySelector(".answer-text");
  if (turn.pending) text.textContent = turn === answering ? THINKING : QUEUED;
  else text.replaceChildren(...heldNumbers(turn.answer, turn.sources));
  // how the question was read (「協動」を「協働」として調べました。) comes before the answer it explains;
  // a refusal opens with the refusal itself, and the reading goes down to what to try next, where
  // it tells why (「コウエン」 read as 「後援」, not 公園) and what to type differently
  const notes = (turn.pending ? [] : notesToShow(turn)).map((note) => make("p", "notice", note));
  bubble.querySelector(".answer-notes").replaceChildren(...(turn.abstained ? [] : notes));
  bubble.classList.toggle("pending", Boolean(turn.pending));
  bubble.classList.toggle("error", Boolean(turn.error));
  bubble.setAttribute("aria-busy", String(Boolean(turn.pending)));
  const extra = bubble.querySelector(".answer-extra");
  extra.replaceChildren();
  if (turn.pending) return;
  const viewId = `source-view-${++sourceViews}`;
  if ((turn.sources || []).length) {
    const sources = make("div", "sources");
    sources.append(make("p", "sources-heading", turn.sources_heading));
    for (const source of turn.sources) {
      const button = make("button", "source-button");
      button.append(...heldNumbers(source.label, [source]));
      button.type = "button";
      button.title = source.title;
      button.dataset.section = source.section_id;
      button.dataset.doc = source.doc_id;
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", viewId); // what it opens, for a screen reader
      button.addEventListener("click", () => openSource(turn, node, button, source.doc_id, source.section_id));
      sources.append(button);
    }
    extra.append(sources);
  }
  const view = make("div", "source-view");
  view.id = viewId;
  view.hidden = true;
  view.setAttribute("role", "region");
  view.setAttribute("aria-label", "出典の本文");
  view.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-section]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    openSource(turn, node, null, link.dataset.doc || "", link.dataset.section);
  });
  extra.append(view);
  if (turn.abstained) extra.append(whereNext(turn, notes));
  if (turn.error) return;

  const actions = make("div", "answer-actions");
  for (const rating of ["up", "down"]) {
    const [icon, words] = RATING_LABELS[rating].split(" ");
    const button = make("button", `rate-button rate-${rating}`, `${icon} `);
    button.append(make("span", "rate-words", words)); // on a phone only the icon shows
    button.setAttribute("aria-label", RATING_LABELS[rating]); // the name stays whole
    button.type = "button";
    button.dataset.rating = rating;
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => rate(turn, node, rating));
    actions.append(button);
  }
  const copy = make("button", "copy-button", "回答をコピー");
  copy.type = "button";
  copy.addEventListener("click", () => copyText(copiedAnswer(turn), copy));
  actions.append(copy);
  const chips = extra.querySelector(".sources");
  if (chips) {
    const jump = make("button", "jump-button", `出典 ${fullWidth(turn.sources.length)}件`);
    jump.type = "button";
    jump.hidden = true;
    actions.classList.add("unstuck"); // until showJumps finds the sources below the log's edge
    jump.append(make("span", "arrow", " ↓"));
    jump.lastChild.setAttribute("aria-hidden", "true");
    jump.addEventListener("click", () => {
      reveal(chips);
      chips.querySelector(".source-button").focus({ preventScroll: true });
    });
    actions.append(jump);
  }
  extra.append(actions);
  const status = make("p", "rating-status");
  status.setAttribute("role", "status");
  extra.append(status);

  const commentForm = make("form", "comment-form");
  commentForm.hidden = true;
  const label = make("label", "comment-label");
  label.append(make("span", "comment-prompt"));
  const area = make("textarea", "comment-input");
  area.rows = 2;
  area.maxLength = 2000;
  label.append(area);
  const send = make("button", "comment-send", "コメントを送る");
  send.type = "submit";
  commentForm.append(label, send);
  commentForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (turn.rating && area.value.trim()) rate(turn, node, turn.rating, area.value);
  });
  extra.append(commentForm);
  markRating(turn, node);
}

// After "not found" the staff member is not left at a dead end: what to try, and the contents.
function whereNext(turn, notes) {
  const next = make("div", "where-next");
  next.append(...notes);
  // with no near section the refusal itself says the guideline seems not to cover the question:
  // other words help only where a word was read as another (「コウエン」 as 「後援」), said here or,
  // once, earlier in the conversation
  const hint = (turn.sources || []).length
    ? "言葉を変えて質問し直すか、上の近い箇所やガイドラインの目次から探してください。"
    : (turn.notes || []).length
      ? "読み方が違っていれば、言葉を変えて質問し直すか、ガイドラインの目次から探してください。"
      : "ガイドラインが扱っている内容は、目次で確かめられます。";
  next.append(make("p", "hint", hint));
  const contents = make("button", "contents-button", "ガイドラインの目次を開く");
  contents.type = "button";
  contents.addEventListener("click", () => {
    document.getElementById("tab-browse-button")?.click();
    // the pressed button is gone with its tab: the focus goes to the contents, not to the page's body
    focusWhenShown("#guide .guide-toc");
  });
  next.append(contents);
  return next;
}

// Focus an element of another tab once Gradio has shown that tab (a few frames after the click).
function focusWhenShown(selector, tries = 40) {
  const target = document.querySelector(selector);
  if (target && target.getClientRects().length) target.focus();
  else if (tries > 0) setTimeout(() => focusWhenShown(selector, tries - 1), 50);
}

// Pasted elsewhere an answer has no source buttons: it names its sources in a last line.
function copiedAnswer(turn) {
  const labels = (turn.sources || []).map((s) => s.label);
  return turn.abstained || !labels.length ? turn.answer : `${turn.answer}\n\n出典：${labels.join("、")}`;
}

function renderTurn(turn, index) {
  const node = make("article", "turn");
  const user = make("div", "bubble user");
  user.append(make("span", "visually-hidden", "質問："), make("span", "question-text", turn.question));
  const bot = make("div", "bubble bot");
  bot.tabIndex = 0;
  bot.setAttribute("aria-label", `回答${fullWidth(index + 1)}`);
  bot.append(make("div", "answer-notes"), make("p", "answer-text"), make("div", "answer-extra"));
  node.append(user, bot);
  nodes.set(turn, node);
  renderAnswer(turn, node);
  return node;
}

function renderAll() {
  log.querySelectorAll(".turn").forEach((n) => n.remove());
  turns.forEach((turn, i) => end.before(renderTurn(turn, i)));
  empty.hidden = turns.length > 0;
  end.hidden = turns.length === 0;
}

// A question sent while another is being answered waits under it, saying so, and is answered
// next: sending was silently ignored, and the question stayed in the box as if unsent.
function ask(text) {
  const question = (text || "").trim();
  if (!question) return;
  askToClear(false, false); // a new question answers 続ける
  const turn = { question, answer: "", pending: true };
  turns.push(turn);
  // an example pressed from the keyboard hides with the rest of the first screen: its answer takes
  // the focus, so Tab goes on into that answer rather than from the top of the page
  const focusWasInEmpty = empty.contains(document.activeElement);
  empty.hidden = true;
  const node = renderTurn(turn, turns.length - 1);
  end.before(node);
  end.hidden = false;
  if (focusWasInEmpty) node.querySelector(".bot").focus({ preventScroll: true });
  box.value = "";
  reveal(node, true);
  if (!answering) answerNext();
}

// Answer the first pending turn, then the next. A turn no longer answered (the conversation was
// cleared meanwhile) is dropped when its answer comes: it belongs to no conversation.
async function answerNext() {
  const turn = turns.find((t) => t.pending);
  answering = turn || null;
  if (!turn) return;
  const node = nodes.get(turn);
  renderAnswer(turn, node); // 回答を作成しています…, no longer waiting
  let result;
  try {
    const docFilter = filterBox.querySelector("#doc-filter");
    const docIds = docFilter && docFilter.value ? [docFilter.value] : [];
    result = await server.answer({ question: turn.question, history: historyBefore(turn), doc_ids: docIds });
    while (answering === turn && result && result.done === false) {
      // a generated answer: show its text as it grows, until it is done
      node.querySelector(".answer-text").textContent = result.answer || THINKING;
      result = await server.progress({ answer_id: result.answer_id });
    }
    // a request the network lost resolves with no answer rather than throwing: it showed an empty
    // answer with 👍/👎 under it
    if (typeof result?.answer !== "string") throw new Error("no answer");
  } catch {
    result = { question: turn.question, answer: FAILED, error: true };
    // sending again is one press of Enter, not retyping the question
    if (answering === turn && !box.value.trim()) box.value = turn.question;
  }
  if (answering !== turn) return;
  Object.assign(turn, result, { pending: false, rating: null });
  renderAnswer(turn, node);
  saveTurns();
  reveal(node, true); // the new answer's first lines in view, under its question
  element.dispatchEvent(new CustomEvent("answer-rendered", { bubbles: true }));
  if (turn.build_id && libraryBuild !== null && turn.build_id !== libraryBuild) refreshLibrary();
  answerNext();
}

// The documents of the newest index build: the choice here, the guideline browser's contents
// (static/guide.js listens for "kyodo-library"). Asked on load, every half minute while the page is
// in view, when the window comes back into view, when the choice is opened and when an answer came
// from another build than the one shown; the server sends the lists only when the build changed.
const LIBRARY_EVERY_MS = 30_000;
let libraryAsked = null; // one question at a time (a click on the choice is a pointerdown and a focus)
function refreshLibrary() {
  libraryAsked ??= server
    .library({ known: libraryBuild })
    .then((library) => library.toc !== undefined && document.dispatchEvent(new CustomEvent("kyodo-library", { detail: library })))
    .catch(() => {}) // the page keeps what it shows
    .finally(() => (libraryAsked = null));
  return libraryAsked;
}
document.addEventListener("kyodo-library", (event) => {
  const library = event.detail;
  if (library.build_id === libraryBuild) return;
  const shown = filterBox.querySelector("#doc-filter");
  const chosen = shown?.value || "";
  const next = document.createElement("template");
  next.innerHTML = library.filter; // escaped by assistant/ui/render.py
  const nextSelect = next.content.querySelector("#doc-filter");
  if (shown && nextSelect) {
    // the same control with the new options: it keeps its focus, and an open list shows them at once
    shown.replaceChildren(...nextSelect.options);
  } else {
    filterBox.replaceChildren(next.content);
  }
  const docFilter = filterBox.querySelector("#doc-filter");
  if (docFilter) docFilter.value = [...docFilter.options].some((o) => o.value === chosen) ? chosen : "";
  libraryBuild = library.build_id;
});
window.addEventListener("focus", refreshLibrary);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refreshLibrary());
filterBox.addEventListener("pointerdown", refreshLibrary);
filterBox.addEventListener("focusin", refreshLibrary);
setInterval(() => document.visibilityState === "visible" && refreshLibrary(), LIBRARY_EVERY_MS);

form.addEventListener("submit", (event) => {
  event.preventDefault();
  ask(box.value);
});
box.addEventListener("keydown", (event) => {
  // Enter sends; Shift+Enter is a new line; Enter that confirms an IME conversion does neither
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  ask(box.value);
});
for (const example of element.querySelectorAll(".example")) {
  example.addEventListener("click", () => ask(example.textContent));
}
// 会話をクリア asks first, as the quiz's 最初からやり直す does: one press lost the whole conversation.
const clearButton = element.querySelector(".clear-button");
const confirmClear = element.querySelector(".confirm-clear");
function askToClear(asking, moveFocus = true) {
  confirmClear.hidden = !asking;
  clearButton.hidden = asking;
  if (!moveFocus) return;
  // on 続ける, the safe choice, while asking; back on 会話をクリア when it was not cleared
  (asking ? confirmClear.querySelector(".cancel-clear-button") : clearButton).focus({ preventScroll: true });
  reveal(asking ? confirmClear : clearButton);
}
clearButton.addEventListener("click", () => askToClear(true));
confirmClear.querySelector(".cancel-clear-button").addEventListener("click", () => askToClear(false));
confirmClear.addEventListener("keydown", (event) => event.key === "Escape" && askToClear(false));
confirmClear.querySelector(".confirm-clear-button").addEventListener("click", () => {
  turns = [];
  answering = null; // an answer still coming is dropped, and the next question is answered at once
  saveTurns();
  askToClear(false, false);
  renderAll();
  box.focus();
});

// A ?section= address (a deep link, or back/forward to one) belongs to the guideline tab: show
// it; static/guide.js opens the section when that tab mounts or when the address changes.
function followAddress() {
  if (!new URLSearchParams(window.location.search).get("section")) return;
  const tab = document.getElementById("tab-browse-button");
  if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
}
window.addEventListener("popstate", followAddress);
followAddress();

renderAll();
refreshLibrary();
fit();
window.addEventListener("resize", fit);
new ResizeObserver(fit).observe(document.body);
if (turns.length) reveal(end.previousElementSibling, true);
