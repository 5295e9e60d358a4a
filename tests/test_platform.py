from __future__ import annotations

import pytest

from manifest_lint.image.platforms import Platform, PlatformFormatError, parse_platform


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/x86-64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm64/8", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/i386", "linux/386"),
        ("Linux/AMD64", "linux/amd64"),
        ("windows/amd64", "windows/amd64"),
        ("macos/arm64", "darwin/arm64"),
        ("linux/s390x", "linux/s390x"),
        ("linux/riscv64", "linux/riscv64"),
    ],
)
def test_normalization(text: str, normalized: str) -> None:
    assert str(parse_platform(text)) == normalized


def test_matching_ignores_spelling() -> None:
    assert Platform("linux", "aarch64").matches(Platform("linux", "arm64", "v8"))
    assert Platform("linux", "arm").matches(Platform("linux", "arm", "v7"))
    assert not Platform("linux", "arm", "v6").matches(Platform("linux", "arm", "v7"))
    assert not Platform("linux", "amd64").matches(Platform("windows", "amd64"))


def test_windows_os_version_is_kept_but_not_in_the_name() -> None:
    p = Platform("windows", "amd64", os_version="10.0.17763.5122").normalized()
    assert p.os_version == "10.0.17763.5122"
    assert str(p) == "windows/amd64"


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d", ""])
def test_invalid_platform(text: str) -> None:
    with pytest.raises(PlatformFormatError, match="expected os/architecture"):
        parse_platform(text)
