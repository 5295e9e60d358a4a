from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifest_lint.errors import InvalidReferenceError
from manifest_lint.image.reference import parse_reference

H64 = "a" * 64
H128 = "b" * 128


@pytest.mark.parametrize(
    ("text", "normalized", "registry", "repository", "tag", "digest", "host"),
    [
        (
            "alpine",
            "docker.io/library/alpine:latest",
            "docker.io",
            "library/alpine",
            "latest",
            "",
            "registry-1.docker.io",
        ),
        (
            "alpine:3.19",
            "docker.io/library/alpine:3.19",
            "docker.io",
            "library/alpine",
            "3.19",
            "",
            "registry-1.docker.io",
        ),
        (
            "org/app",
            "docker.io/org/app:latest",
            "docker.io",
            "org/app",
            "latest",
            "",
            "registry-1.docker.io",
        ),
        (
            "index.docker.io/org/app:1",
            "docker.io/org/app:1",
            "docker.io",
            "org/app",
            "1",
            "",
            "registry-1.docker.io",
        ),
        (
            "docker.io/alpine",
            "docker.io/library/alpine:latest",
            "docker.io",
            "library/alpine",
            "latest",
            "",
            "registry-1.docker.io",
        ),
        ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2", "ghcr.io", "org/app", "1.2", "", "ghcr.io"),
        (
            f"localhost:5000/x/y@sha256:{H64}",
            f"localhost:5000/x/y@sha256:{H64}",
            "localhost:5000",
            "x/y",
            "",
            f"sha256:{H64}",
            "localhost:5000",
        ),
        (
            f"host:5000/repo:tag@sha256:{H64}",
            f"host:5000/repo:tag@sha256:{H64}",
            "host:5000",
            "repo",
            "tag",
            f"sha256:{H64}",
            "host:5000",
        ),
        (
            f"quay.io/a/b@sha512:{H128}",
            f"quay.io/a/b@sha512:{H128}",
            "quay.io",
            "a/b",
            "",
            f"sha512:{H128}",
            "quay.io",
        ),
        ("localhost/app", "localhost/app:latest", "localhost", "app", "latest", "", "localhost"),
        ("[::1]:5000/app:v1", "[::1]:5000/app:v1", "[::1]:5000", "app", "v1", "", "[::1]:5000"),
        (
            "docker://nginx:1",
            "docker.io/library/nginx:1",
            "docker.io",
            "library/nginx",
            "1",
            "",
            "registry-1.docker.io",
        ),
        (
            "a/b__c/d-e.f_g:V1_x",
            "docker.io/a/b__c/d-e.f_g:V1_x",
            "docker.io",
            "a/b__c/d-e.f_g",
            "V1_x",
            "",
            "registry-1.docker.io",
        ),
    ],
)
def test_parse_registry_reference(
    text: str, normalized: str, registry: str, repository: str, tag: str, digest: str, host: str
) -> None:
    ref = parse_reference(text)
    assert (str(ref), ref.registry, ref.repository, ref.tag, ref.digest, ref.host) == (
        normalized,
        registry,
        repository,
        tag,
        digest,
        host,
    )
    assert ref.raw == text
    assert ref.transport == "docker"
    assert ref.pinned is bool(digest)


@pytest.mark.parametrize(
    ("text", "transport", "path", "tag", "digest"),
    [
        ("oci:examples/multiarch", "oci", "examples/multiarch", "", ""),
        ("oci:examples/multiarch:v1", "oci", "examples/multiarch", "v1", ""),
        (f"oci:/tmp/x@sha256:{H64}", "oci", "/tmp/x", "", f"sha256:{H64}"),
        ("oci-archive:image.tar", "oci-archive", "image.tar", "", ""),
        ("oci-archive:out/image.tar:1.0", "oci-archive", "out/image.tar", "1.0", ""),
        # TAG@DIGEST, as pinned-digest suggests it: both kept, the digest is what is read.
        (f"oci:dir:1.0@sha256:{H64}", "oci", "dir", "1.0", f"sha256:{H64}"),
        (f"oci-archive:a.tar:1.0@sha256:{H64}", "oci-archive", "a.tar", "1.0", f"sha256:{H64}"),
        # A full ref.name as the tag: the tag starts at the first ':'.
        ("oci:dir:example.com/app:1.0", "oci", "dir", "example.com/app:1.0", ""),
        (f"oci:d:example.com/a:1@sha256:{H64}", "oci", "d", "example.com/a:1", f"sha256:{H64}"),
    ],
)
def test_parse_layout_reference(
    text: str, transport: str, path: str, tag: str, digest: str
) -> None:
    ref = parse_reference(text)
    assert (ref.transport, ref.path, ref.tag, ref.digest) == (transport, path, tag, digest)
    assert ref.registry == ref.repository == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid reference '': reference is empty"),
        (" alpine", "invalid reference ' alpine': reference has leading or trailing white space"),
        ("Alpine", "invalid reference 'Alpine': repository name must be lowercase at position 1"),
        (
            "docker.io/org/MyApp:1",
            "invalid reference 'docker.io/org/MyApp:1': repository name must be lowercase "
            "at position 15",
        ),
        ("alpine:", "invalid reference 'alpine:': tag is empty after ':' at position 8"),
        (
            "alpine:.x",
            "invalid reference 'alpine:.x': invalid character '.' in tag (allowed: letters, "
            "digits, '_', '.', '-'; not '.' or '-' first) at position 8",
        ),
        (
            "alpine:" + "t" * 129,
            f"invalid reference 'alpine:{'t' * 129}': tag is 129 characters long, the limit is "
            "128 at position 8",
        ),
        (
            "alpine@sha256:abc",
            "invalid reference 'alpine@sha256:abc': sha256 digest must have 64 hex characters, "
            "got 3 at position 8",
        ),
        (
            "alpine@sha512:" + "a" * 64,
            f"invalid reference 'alpine@sha512:{'a' * 64}': sha512 digest must have 128 hex "
            "characters, got 64 at position 8",
        ),
        (
            "alpine@sha256:" + "A" * 64,
            f"invalid reference 'alpine@sha256:{'A' * 64}': sha256 digest must be lower-case hex "
            "at position 8",
        ),
        (
            "alpine@md5:" + "a" * 32,
            f"invalid reference 'alpine@md5:{'a' * 32}': unsupported digest algorithm 'md5' "
            "(supported: sha256, sha512) at position 8",
        ),
        ("alpine@", "invalid reference 'alpine@': digest is empty after '@' at position 8"),
        (
            "alpine@" + "a" * 64,
            f"invalid reference 'alpine@{'a' * 64}': a digest is written algorithm:hex, e.g. "
            "sha256:<64 hex> at position 8",
        ),
        (
            "a//b",
            "invalid reference 'a//b': empty path component ('//' or '/' at an end) at position 3",
        ),
        ("ghcr.io/", "invalid reference 'ghcr.io/': repository name is empty at position 9"),
        (
            "-app",
            "invalid reference '-app': invalid character '-' in repository name (allowed: a-z, "
            "0-9, and '.', '_', '__', '-' between them) at position 1",
        ),
        (
            "host:port/app",
            "invalid reference 'host:port/app': invalid port 'port' in registry at position 6",
        ),
        (
            "bad_host.io/app",
            "invalid reference 'bad_host.io/app': invalid registry host name component "
            "'bad_host' at position 1",
        ),
        (":tag", "invalid reference ':tag': repository name is empty at position 1"),
        (
            "x/" + "a" * 260,
            f"invalid reference 'x/{'a' * 260}': repository name is 272 characters long, the limit "
            "is 255",
        ),
        ("oci:", "invalid reference 'oci:': oci: needs a path at position 5"),
        (
            "./build/image",
            "invalid reference './build/image': this is a path, not an image reference; write "
            "oci:PATH for an OCI layout directory or oci-archive:FILE for a tar of one",
        ),
        ("oci:dir:", "invalid reference 'oci:dir:': tag is empty after ':' at position 9"),
    ],
)
def test_invalid_reference_messages(text: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert str(info.value) == message


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReferenceError as exc:
        assert exc.reference == text
    else:
        assert ref.raw == text
        # The normalised form parses to the same reference.
        if ref.transport == "docker":
            again = parse_reference(str(ref))
            assert (again.registry, again.repository, again.tag, again.digest) == (
                ref.registry,
                ref.repository,
                ref.tag,
                ref.digest,
            )


@given(
    st.lists(st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)?", fullmatch=True), min_size=1, max_size=3),
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)),
)
def test_valid_names_round_trip(parts: list[str], tag: str | None) -> None:
    text = "registry.example:5000/" + "/".join(parts) + (f":{tag}" if tag else "")
    ref = parse_reference(text)
    assert str(ref) == text if tag else str(ref) == text + ":latest"


_HEXISH = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    st.text(alphabet="0123456789abcdef", min_size=128, max_size=128),
    st.text(alphabet="0123456789abcdefABx\n", min_size=60, max_size=130),
)


@given(
    st.one_of(
        st.builds(
            lambda a, h: f"{a}:{h}", st.sampled_from(["sha256", "sha512", "md5", ""]), _HEXISH
        ),
        st.text(max_size=80),
    )
)
def test_is_digest_says_what_digest_parsing_accepts(text: str) -> None:
    from manifest_lint.image.digest import Digest, DigestFormatError, is_digest

    try:
        Digest.parse(text)
        parsed = True
    except DigestFormatError:
        parsed = False
    assert is_digest(text) is parsed


def test_is_digest_accepts_both_algorithms() -> None:
    from manifest_lint.image.digest import is_digest

    assert is_digest("sha256:" + "a" * 64)
    assert is_digest("sha512:" + "0" * 128)
    assert not is_digest("sha256:" + "a" * 64 + "\n")
    assert not is_digest("sha256:" + "A" * 64)
