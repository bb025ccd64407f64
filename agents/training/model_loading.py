"""Loading the model to train: base weights, QLoRA quantization, and the SFT start for DPO/DAPO.

DPO and DAPO start from the SFT model. With LoRA, the SFT adapter is merged into the base and a
fresh LoRA is trained on top: TRL's reference model is the adapter-disabled model, i.e. exactly
the SFT model. The merged adapters are recorded in ``student_gym_lineage.json`` beside the new
adapter, so ``LMAgent(base, adapter=new)`` rebuilds the same stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LINEAGE_FILE = "student_gym_lineage.json"


def is_adapter_dir(path: str | Path) -> bool:
    """True when ``path`` is a peft adapter directory (has ``adapter_config.json``)."""
    return (Path(path) / "adapter_config.json").is_file()


def adapter_stack(adapter: str | Path) -> list[str]:
    """The adapters to apply in order to rebuild ``adapter``'s model: its lineage, then itself."""
    path = Path(adapter)
    lineage = path / LINEAGE_FILE
    merged: list[str] = []
    if lineage.is_file():
        merged = list(json.loads(lineage.read_text()).get("merged_adapters", []))
    return [*merged, str(path)]


def write_lineage(output_dir: str | Path, base: str, merged_adapters: list[str]) -> None:
    """Record which adapters were merged into ``base`` before training ``output_dir``."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = {"base_model": base, "merged_adapters": [str(Path(a).resolve()) for a in merged_adapters]}
    (out / LINEAGE_FILE).write_text(json.dumps(record, indent=2))


def resolve_start(model_args, init_from: str | None) -> tuple[str, list[str]]:
    """Work out the base model and the adapters to merge for a run starting from ``init_from``.

    Returns:
        ``(base model name or path, adapters to merge in order)``.
    """
    from student_gym_agents.tiny import resolve_model_name

    base = model_args.model_name_or_path
    base = resolve_model_name(base) if base is not None else None
    if init_from is None:
        if base is None:
            raise ValueError("no model: pass --model_name_or_path (or a --recipe that sets it)")
        return base, []
    start = Path(init_from)
    if not start.is_dir():
        raise FileNotFoundError(f"--init_from {init_from}: no such directory")
    if is_adapter_dir(start):
        stack = adapter_stack(start)
        if base is None:
            config = json.loads((start / "adapter_config.json").read_text())
            base = config.get("base_model_name_or_path")
        if base is None:
            raise ValueError(f"--init_from {init_from} is an adapter: pass --model_name_or_path")
        return base, stack
    # A full model directory (e.g. the demo's fully fine-tuned tiny model) is the base itself.
    return str(start), []


def load_model_for_training(model_args, init_from: str | None = None) -> tuple[Any, Any, str, list[str]]:
    """Load (model, tokenizer) for training, merging the SFT start when there is one.

    Returns:
        ``(model, tokenizer, base, merged_adapters)``.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from trl import get_quantization_config

    from student_gym.grader import start_server
    from student_gym_agents.lm import load_tokenizer, quantization_config

    # Fork the grader server while the process is small (before any weights are loaded).
    start_server()
    base, merged = resolve_start(model_args, init_from)
    quantization_config(model_args.load_in_4bit)  # clear error without CUDA / bitsandbytes
    kwargs: dict[str, Any] = {"dtype": model_args.dtype or "auto"}
    if model_args.attn_implementation:
        kwargs["attn_implementation"] = model_args.attn_implementation
    quant = get_quantization_config(model_args)
    if quant is not None:
        from trl import get_kbit_device_map

        kwargs.update(quantization_config=quant, device_map=get_kbit_device_map())
    model = AutoModelForCausalLM.from_pretrained(base, revision=model_args.model_revision, **kwargs)
    for adapter in merged:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    tokenizer = load_tokenizer(base)
    return model, tokenizer, base, merged


def template_kwargs_column(dataset, enable_thinking: bool):
    """Add TRL's per-row ``chat_template_kwargs`` column (Qwen3 thinking switch) to a dataset."""
    kwargs = {"enable_thinking": enable_thinking}
    if "chat_template_kwargs" in dataset.column_names:
        dataset = dataset.remove_columns("chat_template_kwargs")
    return dataset.add_column("chat_template_kwargs", [kwargs] * len(dataset))


def select_rows(dataset, max_samples: int | None, seed: int):
    """A seeded random subset of at most ``max_samples`` rows (the whole set when None)."""
    if max_samples is None or max_samples >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(max_samples))
