"""Technological sovereignty of the plant's digital stack: smartfab's own software bill of
materials (CycloneDX, each dependency with the licence its installed metadata declares), what
runs on the premises and what reaches services elsewhere (from the settings and the plant file),
and the network connections a running process actually holds (:func:`outbound`)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any
from urllib.parse import urlparse

from smartfab.model.plant import Plant

# Classifier text -> SPDX identifier, for packages that declare their licence only that way.
_CLASSIFIERS = {
    "MIT License": "MIT",
    "BSD License": "BSD-3-Clause",
    "Apache Software License": "Apache-2.0",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.1-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "ISC License (ISCL)": "ISC",
}
_EXTRA = re.compile(r";\s*extra\s*==")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    licence: str  # SPDX expression or the declared text; "" when the metadata declare none
    direct: bool  # a dependency smartfab declares, not one of theirs


def _licence(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta["License-Expression"]  # None when absent
    if expression:
        return str(expression).strip()
    found = [
        _CLASSIFIERS.get(c.split(" :: ")[-1], c.split(" :: ")[-1])
        for c in meta.get_all("Classifier") or []
        if c.startswith("License :: ")
    ]
    if found:
        return " OR ".join(sorted(set(found)))
    declared = (meta["License"] or "").strip()
    return declared.splitlines()[0][:100] if declared else ""


def _requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", req.strip(), maxsplit=1)[0]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def packages(root: str = "smartfab") -> list[Package]:
    """The installed distributions smartfab runs on: its declared dependencies (not the
    optional extras) and theirs, transitively, with their licences."""
    top = metadata.distribution(root)
    direct = {_key(_requirement_name(r)) for r in top.requires or [] if not _EXTRA.search(r)}
    seen: dict[str, Package] = {}
    todo = sorted(direct)
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(key)
        except metadata.PackageNotFoundError:
            continue  # a dependency of a platform this machine is not
        seen[key] = Package(dist.metadata["Name"], dist.version, _licence(dist), key in direct)
        todo += [_key(_requirement_name(r)) for r in dist.requires or [] if not _EXTRA.search(r)]
    return sorted(seen.values(), key=lambda p: p.name.lower())


def sbom_json(root: str = "smartfab") -> str:
    """smartfab's bill of materials as CycloneDX 1.5 JSON."""
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot5
    from packageurl import PackageURL

    licences = LicenseFactory()
    top = metadata.distribution(root)

    def component(name: str, version: str, licence: str, kind: ComponentType) -> Component:
        return Component(
            name=name, version=version, type=kind, bom_ref=f"{_key(name)}@{version}",
            purl=PackageURL(type="pypi", name=_key(name), version=version),
            licenses=[licences.make_from_string(licence)] if licence else [],
        )  # fmt: skip

    bom = Bom()
    bom.metadata.component = main = component(
        root, top.version, _licence(top), ComponentType.APPLICATION
    )
    parts = {p.name: component(p.name, p.version, p.licence, ComponentType.LIBRARY)
             for p in packages(root)}  # fmt: skip
    for c in parts.values():
        bom.components.add(c)
    bom.register_dependency(main, [parts[p.name] for p in packages(root) if p.direct])
    return str(JsonV1Dot5(bom).output_as_string(indent=2))


# --- where things run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    what: str
    where: str  # "on_premises" (this machine or the plant's network) or "external"
    detail: str
    origin: str = ""  # vendor's country, when known


def _place(host: str | None) -> str:
    """on_premises for this machine, private networks and single-label plant hostnames; external
    for global addresses and public domain names."""
    if not host:
        return "on_premises"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "on_premises" if host == "localhost" or "." not in host else "external"
    return "external" if ip.is_global else "on_premises"


def stack(plant: Plant, urls: Iterable[tuple[str, str]]) -> list[Service]:
    """smartfab and its store, the devices of the plant file, the plant's software inventory and
    each URL or host of the settings (``urls``: what, url or host), each placed."""
    out = [Service("smartfab", "on_premises", "self-hosted; no CDN, no telemetry, no licence "
                   "server; web app served by the same process")]  # fmt: skip
    for what, url in urls:
        host = urlparse(url).hostname if "://" in url else url
        out.append(Service(what, _place(host), url))
    for c in plant.connections:
        host = urlparse(c.endpoint).hostname if c.protocol == "opcua" else c.host
        out.append(Service(f"{c.protocol} {c.name}", _place(host), str(host)))
    if plant.digital is not None:
        for s in plant.digital.software:
            where = "external" if s.hosting == "cloud" else "on_premises"
            detail = f"{s.category}, {s.vendor}" if s.vendor else s.category
            out.append(Service(s.name, where, detail, s.origin))
    return out


def outbound(pid: int) -> list[dict[str, Any]]:
    """The connections of process ``pid`` (and its children) to another machine: the remote
    address, port, state and whether it is on the internet (a global address)."""
    import psutil

    proc = psutil.Process(pid)
    out = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            conns = p.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for c in conns:
            if not c.raddr:
                continue  # listening, or an unconnected UDP socket
            ip = ipaddress.ip_address(c.raddr.ip)
            if ip.is_loopback:
                continue
            out.append({"pid": p.pid, "remote": c.raddr.ip, "port": c.raddr.port,
                        "status": c.status, "internet": ip.is_global,
                        "family": "ipv6" if c.family == socket.AF_INET6 else "ipv4"})  # fmt: skip
    return out


def report(plant: Plant, urls: Iterable[tuple[str, str]]) -> dict[str, Any]:
    pkgs = packages()
    return {
        "stack": [asdict(s) for s in stack(plant, urls)],
        "packages": [asdict(p) for p in pkgs],
        "without_licence": [p.name for p in pkgs if not p.licence],
    }
