"""The Kubernetes URL, IP and CIDR libraries (declared in ``cel/kubernetes.py``).

As Kubernetes: ``url()`` takes what Go's ``url.ParseRequestURI`` takes (an absolute
URL or an absolute path); ``ip()`` refuses IPv4-mapped IPv6 and zoned addresses;
``cidr()`` keeps the host bits (``masked()`` clears them); ``isGlobalUnicast`` is Go's
(private ranges count, broadcast does not). The values are strings in canonical form.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# -- URLs -------------------------------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPED = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*\Z")


def _split_url(text: str) -> urllib.parse.SplitResult:
    """An absolute URL or an absolute path, as Kubernetes' ``url()`` takes (the
    fragment is not part of the path or the query)."""
    if not text or _CONTROL.search(text) or not (text.startswith("/") or _SCHEME.match(text)):
        raise ValueError(f"URL parse error during conversion from string: {text!r}")
    parts = urllib.parse.urlsplit(text)
    if " " in parts.netloc:
        raise ValueError(f"URL parse error during conversion from string: {text!r}")
    try:
        parts.port  # noqa: B018  # reading it checks it
    except ValueError as exc:
        raise ValueError(f"URL parse error during conversion from string: {text!r}") from exc
    return parts


def url(text: str) -> str:
    _split_url(text)
    return text


def is_url(text: str) -> bool:
    try:
        _split_url(text)
    except ValueError:
        return False
    return True


def get_scheme(text: str) -> str:
    return _split_url(text).scheme


def get_host(text: str) -> str:
    """The host and its port, as written: ``example.com:80``, ``[::1]:80``."""
    return _split_url(text).netloc.rpartition("@")[2]


def get_hostname(text: str) -> str:
    """The host without its port or an IPv6 address's brackets: ``::1``."""
    netloc = get_host(text)
    if netloc.startswith("["):
        return netloc[1 : netloc.index("]")]
    return netloc.partition(":")[0]


def get_port(text: str) -> str:
    netloc = _split_url(text).netloc.rpartition("@")[2]
    host_end = netloc.index("]") + 1 if netloc.startswith("[") else 0
    _, colon, port = netloc[host_end:].partition(":")
    return port if colon else ""


def get_escaped_path(text: str) -> str:
    path = _split_url(text).path
    if _ESCAPED.match(path):
        return path
    return urllib.parse.quote(urllib.parse.unquote(path), safe="/!$&'()*+,;=:@")


def get_query(text: str) -> dict[str, list[str]]:
    query = _split_url(text).query
    return urllib.parse.parse_qs(query, keep_blank_values=True)


# -- IP addresses and CIDR ranges ------------------------------------------------------------


def _address(text: str) -> _IPAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise ValueError(f"IP Address {text!r} parse error during conversion from string") from exc
    if isinstance(address, ipaddress.IPv6Address) and (address.ipv4_mapped or address.scope_id):
        raise ValueError(f"IP Address {text!r}: IPv4-mapped and zoned addresses are not allowed")
    return address


def ip(text: str) -> str:
    return str(_address(text))


def is_ip(text: str) -> bool:
    try:
        _address(text)
    except ValueError:
        return False
    return True


def family(text: str) -> int:
    return _address(text).version


def is_unspecified(text: str) -> bool:
    return _address(text).is_unspecified


def is_loopback(text: str) -> bool:
    return _address(text).is_loopback


def is_link_local_multicast(text: str) -> bool:
    address = _address(text)
    if address.version == 4:
        return address in ipaddress.ip_network("224.0.0.0/24")
    return address.is_multicast and (address.packed[1] & 0x0F) == 0x02


def is_link_local_unicast(text: str) -> bool:
    address = _address(text)
    return address.is_link_local and not address.is_multicast


def is_global_unicast(text: str) -> bool:
    """As Go's ``IsGlobalUnicast``: private ranges count; broadcast does not."""
    address = _address(text)
    if address.version == 4 and int(address) == 0xFFFFFFFF:
        return False
    return not (
        address.is_unspecified
        or address.is_loopback
        or address.is_multicast
        or address.is_link_local
    )


def _interface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    address, slash, prefix = text.partition("/")
    if not slash or not prefix.isdigit():
        raise ValueError(f"network address parse error during conversion from string: {text!r}")
    _address(address)
    try:
        return ipaddress.ip_interface(text)
    except ValueError as exc:
        raise ValueError(
            f"network address parse error during conversion from string: {text!r}"
        ) from exc


def cidr(text: str) -> str:
    return str(_interface(text))


def is_cidr(text: str) -> bool:
    try:
        _interface(text)
    except ValueError:
        return False
    return True


def cidr_ip(text: str) -> str:
    return str(_interface(text).ip)


def masked(text: str) -> str:
    return str(_interface(text).network)


def prefix_length(text: str) -> int:
    return _interface(text).network.prefixlen


def contains_ip(text: str, address: str) -> bool:
    network = _interface(text).network
    other = _address(address)
    return other.version == network.version and other in network


def contains_cidr(text: str, other: str) -> bool:
    network, inner = _interface(text).network, _interface(other).network
    return inner.version == network.version and inner.subnet_of(network)  # type: ignore[arg-type]  # same version checked
