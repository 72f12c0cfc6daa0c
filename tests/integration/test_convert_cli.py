"""The ``convert`` command as a user meets it: help, clear one-line errors, non-zero exit codes, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers import run_cli


def assert_clean_failure(result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message


def test_help_documents_the_command() -> None:
    result = run_cli("convert", "--help")
    assert result.returncode == 0
    for text in ("--kind", "animo", "pirender", "--ema", "config.json", "model.safetensors"):
        assert text in result.stdout


def test_missing_file(tmp_path: Path) -> None:
    assert_clean_failure(run_cli("convert", str(tmp_path / "nope.ckpt"), str(tmp_path / "out")), "no such")


def test_not_a_checkpoint(tmp_path: Path) -> None:
    bogus = tmp_path / "photo.ckpt"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    assert_clean_failure(run_cli("convert", str(bogus), str(tmp_path / "out")), "not a PyTorch checkpoint")


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    """A checkpoint holding arbitrary Python objects is refused, never unpickled."""
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "hook": Path("/")}, evil)
    assert_clean_failure(run_cli("convert", str(evil), str(tmp_path / "out")), "loads safely")


@pytest.mark.golden
def test_wrong_kind(golden_dir: Path, tmp_path: Path) -> None:
    result = run_cli("convert", "--kind", "animo", str(golden_dir / "pirender_small.ckpt"), str(tmp_path / "out"))
    assert_clean_failure(result, "pirender", "not animo")


@pytest.mark.golden
def test_missing_and_mismatched_keys(golden_dir: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(golden_dir / "pirender_small.ckpt", weights_only=True)
    state = dict(checkpoint["state_dict"])
    del state["generator.editing_net.decoder.jump0.model.0.bias"]
    missing = tmp_path / "missing.ckpt"
    torch.save({"state_dict": state}, missing)
    assert_clean_failure(
        run_cli("convert", str(missing), str(tmp_path / "a")), "missing keys (1)", "jump0.model.0.bias"
    )

    state["generator.editing_net.decoder.jump0.model.0.bias"] = torch.zeros(5)
    mismatched = tmp_path / "mismatched.ckpt"
    torch.save({"state_dict": state}, mismatched)
    assert_clean_failure(run_cli("convert", str(mismatched), str(tmp_path / "b")), "shape mismatch", "(5,)")


@pytest.mark.golden
def test_ema_requested_but_absent(golden_dir: Path, tmp_path: Path) -> None:
    result = run_cli("convert", "--ema", str(golden_dir / "pirender_small.ckpt"), str(tmp_path / "out"))
    assert_clean_failure(result, "generator_ema")
