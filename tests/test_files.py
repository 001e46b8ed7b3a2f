"""File errors: an OSError reads as a sentence a user can act on, not as its number."""

from __future__ import annotations




def test_an_os_error_reads_as_a_sentence_not_its_number() -> None:
    from mnv2_core.files import os_error_sentence

    sentence = os_error_sentence(PermissionError(13, "Permission denied", "/cache/onnx/x.onnx"))
    assert sentence.startswith("A file could not be read or written (/cache/onnx/x.onnx): Permission denied.")
    assert "MNV2_CACHE" in sentence
