// The guideline browser (run by gr.HTML as js_on_load): the table of contents opens a section
// beside it (above it on a phone), the address bar follows the open section (?section=3-7), so
// a section can be bookmarked and the back button goes to the one read before.
// The section HTML comes from server.section, escaped by assistant/ui/render.py. (chat.js, always
// mounted, switches to this tab for a ?section= address; this script opens the section.)
const PLACEHOLDER = element.querySelector(".guide-section").innerHTML;
const view = element.querySelector(".guide-section");
const toc = element.querySelector(".guide-toc");

function requested() {
  const query = new URLSearchParams(window.location.search);
  return { section: query.get("section") || "", doc: query.get("doc") || "" };
}

function markToc(sectionId, docId) {
  for (const link of toc.querySelectorAll("a[aria-current]")) link.removeAttribute("aria-current");
  const selector = `a[data-section="${CSS.escape(sectionId)}"]` + (docId ? `[data-doc="${CSS.escape(docId)}"]` : "");
  const current = toc.querySelector(selector);
  if (current) current.setAttribute("aria-current", "true");
}

async function open(docId, sectionId, how) {
  if (!sectionId) {
    view.innerHTML = PLACEHOLDER;
    markToc("", "");
    return;
  }
  let result;
  try {
    result = await server.section({ doc_id: docId, section_id: sectionId, quotes: [] });
  } catch {
    result = { html: '<p class="notice">エラーが発生しました。時間をおいてもう一度お試しください。</p>', href: "" };
  }
  view.innerHTML = result.html;
  markToc(result.section_id || "", result.doc_id || "");
  view.dataset.section = result.section_id || "";
  view.dataset.doc = result.doc_id || "";
  if (how === "push" && result.href) {
    const url = new URL(result.href, window.location.href);
    if (url.href !== window.location.href) window.history.pushState({ section: sectionId }, "", url.href);
  }
  if (how !== "load" || window.innerWidth < 768) {
    view.scrollIntoView({ block: "start" });
  }
  view.focus({ preventScroll: true });
}

element.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-section]");
  if (!link || !element.contains(link)) return;
  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  open(link.dataset.doc || "", link.dataset.section, "push");
});

window.addEventListener("popstate", () => {
  const { section, doc } = requested();
  open(doc, section, "history");
});

// The contents follow the newest index build (chat.js asks for it and tells this script; the
// guideline tab asks itself when it is opened, so a document added since shows up there).
document.addEventListener("kyodo-library", (event) => {
  if (toc.dataset.build === event.detail.build_id) return;
  toc.innerHTML = event.detail.toc; // escaped by assistant/ui/render.py
  toc.dataset.build = event.detail.build_id;
  const { section, doc } = requested();
  markToc(view.dataset.section || section, view.dataset.doc || doc);
});
async function refreshContents() {
  try {
    const library = await server.library({ known: toc.dataset.build || null });
    if (library.toc !== undefined) document.dispatchEvent(new CustomEvent("kyodo-library", { detail: library }));
  } catch {
    // keep the contents shown
  }
}
document.getElementById("tab-browse-button")?.addEventListener("click", refreshContents);
refreshContents();

const first = requested();
if (first.section) open(first.doc, first.section, "load");
