"""Generate the README.md model card of an intent-model folder."""

from __future__ import annotations

from typing import Any

from training.templates import Template


def _number(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_model_card(
    version: str,
    config_record: dict[str, Any],
    metrics: dict[str, Any],
    labels: list[str],
    templates: dict[str, list[Template]],
) -> str:
    """Return a Markdown card with the base model, data hash, held-out metrics, threshold and intents."""
    provenance = config_record["provenance"]
    data = config_record["data"]
    calibration = metrics["calibration"]
    held_out = metrics.get("held_out") or {}
    train_config = config_record["train_config"]

    lines = [
        f"# Intent model {version}",
        "",
        "A LoRA adapter and a linear head on a sentence encoder that classify customer messages into intents, "
        "with calibrated confidences and response templates mined from past agent replies.",
        "Load it with `training.artifact.IntentModel.load(path)`. `manifest.json` lists the SHA-256 of every file, "
        "and loading fails when a file differs from it.",
        "",
        "## Provenance",
        "",
        "| | |",
        "|---|---|",
        f"| base model | `{provenance['base_model']}` (weights fingerprint `{provenance['encoder_fingerprint'] or 'unknown'}`) |",
        f"| training data SHA-256 | `{provenance['data_sha256']}` |",
        f"| created (UTC) | {provenance['created_at']} |",
        f"| libraries | {', '.join(f'{name} {ver}' for name, ver in provenance['libraries'].items())} |",
        f"| examples | {data['train']} train, {data['held_out']} held out, {len(labels)} labels |",
        f"| LoRA | r={train_config['lora_r']}, alpha={train_config['lora_alpha']}, "
        f"targets {', '.join(train_config['target_modules'])} |",
        f"| epochs | {metrics['training']['epochs']} ({metrics['training']['steps']} optimisation steps) |",
        "",
        "## Held-out evaluation",
        "",
    ]
    if held_out:
        lines += [
            "| metric | value |",
            "|---|---|",
            f"| accuracy | {_number(held_out['accuracy'])} |",
            f"| macro-F1 | {_number(held_out['macro_f1'])} |",
            f"| temperature | {_number(calibration['temperature'])} |",
            f"| confidence threshold | {_number(calibration['threshold'])} |",
            f"| precision at threshold (target {_number(calibration['target_precision'], 2)}) | "
            f"{_number(calibration['precision'])} |",
            f"| coverage at threshold | {_number(calibration['coverage'])} |",
            f"| out-of-scope messages accepted | {_number(calibration['out_of_scope_accept_rate'])} |",
            f"| ECE before / after temperature scaling | {_number(calibration['ece_before'])} / "
            f"{_number(calibration['ece_after'])} |",
        ]
    else:
        lines.append(
            f"No held-out split, so nothing was measured. The threshold {_number(calibration['threshold'])} is a default."
        )
    lines += ["", "## Intents", "", "| intent | held-out F1 | templates |", "|---|---|---|"]
    per_intent = held_out.get("per_intent", {})
    for label in labels:
        f1 = per_intent.get(label, {}).get("f1")
        lines.append(f"| `{label}` | {_number(f1)} | {len(templates.get(label, []))} |")
    warnings = metrics.get("warnings") or []
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- {warning}" for warning in warnings]
    return "\n".join(lines) + "\n"
