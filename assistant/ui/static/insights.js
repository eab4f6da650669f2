// The admins' insights tab (run by gr.HTML as js_on_load: `server` calls insights / draft_case).
// The page's HTML was escaped by assistant/ui/insights_view.py; a draft case line is set as text.
const body = element.querySelector(".insights-body");
const status = element.querySelector(".insights-status");
const refreshButton = element.querySelector(".insights-refresh");

function refusal(error) {
  const text = String((error && error.message) || error || "");
  return text.includes("403") || text.includes("管理者") ? "このページは管理者だけが見られます。" : "読み込めませんでした。時間をおいてもう一度お試しください。";
}

async function refresh() {
  status.textContent = "読み込んでいます…";
  refreshButton.disabled = true;
  try {
    const page = await server.insights({});
    body.innerHTML = page.html;
    status.textContent = `更新しました（${new Date().toLocaleTimeString("ja-JP")}）`;
  } catch (error) {
    status.textContent = refusal(error);
  } finally {
    refreshButton.disabled = false;
  }
}

async function draft(button) {
  const out = element.querySelector(`#draft-${button.dataset.entry}`);
  button.disabled = true;
  try {
    const result = await server.draft_case({ entry_id: button.dataset.entry });
    out.textContent = result.line || result.error;
    out.hidden = false;
    if (result.line && navigator.clipboard) {
      navigator.clipboard.writeText(result.line + "\n").then(
        () => { button.textContent = "下書きを作りました（コピー済み）"; },
        () => { button.textContent = "下書きを作りました"; },
      );
    } else if (result.line) {
      button.textContent = "下書きを作りました";
    }
  } catch (error) {
    out.textContent = refusal(error);
    out.hidden = false;
  } finally {
    button.disabled = false;
  }
}

refreshButton.addEventListener("click", refresh);
body.addEventListener("click", (event) => {
  const button = event.target.closest("button.draft-case");
  if (button) draft(button);
});
refresh();
