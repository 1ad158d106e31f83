"""Which network addresses the product may connect to on a user's behalf (S3 endpoints, webhooks).

A user-supplied URL must not turn the server into a proxy to its own neighbourhood:
link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) are never
allowed; private, loopback and other non-public addresses only when the setting
``SOURCES_ALLOWED_PRIVATE_NETWORKS`` lists a network holding them (the embedded default allows
loopback, where its own S3 endpoint runs). The check runs before any connection is made, so a
refused address says "not allowed" and nothing about whether a port is open there.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

NEVER = [
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, incl. 169.254.169.254 metadata
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
]
SETTING = "SOURCES_ALLOWED_PRIVATE_NETWORKS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressNotAllowed(Exception):
    """The URL's host resolves to an address the product must not connect to."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, SETTING, [])]


def address_problem(address: IPAddress) -> str | None:
    """Why the product may not connect to ``address``, or None when it may."""
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:169.254.169.254
        address = address.ipv4_mapped
    if any(address in net for net in NEVER):
        return "link-local and cloud metadata addresses are never allowed"
    if address.is_global:
        return None
    if any(address in net for net in allowed_networks() if net.version == address.version):
        return None
    return f"private and loopback addresses are allowed only when {SETTING} lists them"


def check_url(url: str) -> None:
    """Raise AddressNotAllowed when the URL's host is, or resolves to, a refused address."""
    host = urlsplit(url).hostname
    if not host:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return  # an unknown host fails later with its own, honest message
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        problem = address_problem(address)
        if problem:
            raise AddressNotAllowed(f"The address of {host} is not allowed: {problem}.")
