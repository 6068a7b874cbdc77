"""The benchmark's results: ratios, targets (a token endpoint that keeps up with its peers), tables."""

import statistics
import time

WORKER_RSS_LIMIT_MB = 150
SEED_RSS_LIMIT_MB = 500
SCALE_P50_LIMIT = 1.1
PEER_SERVERS = ("oidc_provider",)  # Node's workers: reported, but the memory target is the Django projects'


def stack_label(settings: dict) -> str:
    """How the Django projects were served, in words (``settings``: the run's arguments)."""
    threads = settings["server_threads"]
    return {
        "sync": "gunicorn sync workers",
        "gthread": f"gunicorn gthread workers x {threads} threads",
        "uvicorn": "gunicorn with uvicorn workers (ASGI)",
        "granian": f"granian WSGI, {threads} blocking threads",
        "haproxy": "gunicorn sync workers behind HAProxy (keep-alive to the client)",
    }[settings["stack"]]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def build(
    *, scenarios: dict, labels: dict, twins: dict, peer: str, memory: dict, scale: dict | None, settings: dict
) -> dict:
    hello = scenarios["hello"]["rps"]
    peer_rps = scenarios[peer]["rps"]
    missing = {"rps": None, "ratio_to_hello": None, "ratio_to_baseline": None, "ratio_to_oidc_provider": None}
    for key, figures in scenarios.items():
        if "@" in key:
            continue
        figures["label"] = labels.get(key, key)
        figures["ratio_to_hello"] = _ratio(figures["rps"], hello)
        twin = twins.get(key)
        if twin:  # a Portcullis scenario
            figures["ratio_to_oidc_provider"] = _ratio(figures["rps"], peer_rps)
            figures["baseline"] = twin
            figures["ratio_to_baseline"] = _ratio(figures["rps"], scenarios[twin]["rps"])
            persistent = scenarios.get(f"{twin}_persistent")
            if persistent:  # how much of the gap is DOT opening a connection per request
                figures["ratio_to_baseline_with_persistent_connections"] = _ratio(figures["rps"], persistent["rps"])
    targets = [
        _target(
            "client credentials (strict third-party) at least 0.6x oidc-provider's",
            scenarios.get("client_credentials_strict", missing)["ratio_to_oidc_provider"],
            ">=",
            0.6,
        ),
        _target(
            "client credentials (strict third-party) at least 25% of the hello view",
            scenarios.get("client_credentials_strict", missing)["ratio_to_hello"],
            ">=",
            0.25,
        ),
        _target(
            "introspection at least 50% of the hello view",
            scenarios.get("introspection", missing)["ratio_to_hello"],
            ">=",
            0.50,
        ),
        _target(
            "code exchange at least 3x untouched DOT's",
            scenarios.get("code_exchange", missing)["ratio_to_baseline"],
            ">=",
            3.0,
        ),
        _target(
            "authorize redirect at least 3x untouched DOT's",
            scenarios.get("authorize", missing)["ratio_to_baseline"],
            ">=",
            3.0,
        ),
    ]
    rss = [value for server, values in memory.items() if server not in PEER_SERVERS for value in values]
    targets.append(
        _target(
            f"every worker of Portcullis and the baseline under {WORKER_RSS_LIMIT_MB} MB resident",
            max(rss),
            "<",
            WORKER_RSS_LIMIT_MB,
        )
    )
    at_scale = {}
    if scale is not None:
        for key in ("client_credentials_strict", "introspection", "code_exchange"):
            empty, seeded = scenarios.get(f"{key}@empty"), scenarios.get(f"{key}@scale")
            if empty and seeded:
                # Each round ran the two back to back: the ratio of each pair is the least disturbed by
                # whatever else the machine is doing, and the median of those is the figure.
                paired = [
                    seeded_run["p50_ms"] / empty_run["p50_ms"]
                    for empty_run, seeded_run in zip(empty["rounds"], seeded["rounds"], strict=True)
                ]
                at_scale[key] = {
                    "p50_ms_empty": empty["p50_ms"],
                    "p50_ms_at_scale": seeded["p50_ms"],
                    "p50_ratio": round(statistics.median(paired), 3),
                    "p50_ratio_per_round": [round(ratio, 3) for ratio in paired],
                    "rps_empty": empty["rps"],
                    "rps_at_scale": seeded["rps"],
                }
        targets.append(
            _target(
                f"token p50 at scale at most {SCALE_P50_LIMIT}x the p50 on an empty database",
                at_scale["client_credentials_strict"]["p50_ratio"],
                "<=",
                SCALE_P50_LIMIT,
            )
        )
        targets.append(_target(f"seeding under {SEED_RSS_LIMIT_MB} MB resident", scale["peak_rss_mb"], "<", 500))
        scale = {**scale, "scenarios": at_scale}
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "scenarios": scenarios,
        "memory_rss_mb": memory,
        "scale": scale,
        "targets": targets,
    }


def _target(name: str, value, comparison: str, threshold: float) -> dict:
    met = value is not None and {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[comparison]
    return {"target": name, "value": value, "comparison": comparison, "threshold": threshold, "met": met}


def table(results: dict) -> str:
    settings = results["settings"]
    lines = [
        "",
        f"Portcullis vs untouched django-oauth-toolkit and oidc-provider: {settings['rounds']} x "
        f"{settings['duration']} s per scenario (medians), wrk {settings['threads']} threads x "
        f"{settings['connections']} connections, {settings['server']}, {settings['workers']} workers each "
        f"(oidc-provider: Node's cluster, one worker per core), {settings['cpus']} CPUs, load average "
        f"{settings['load_average_before'][0]} before, {settings['load_average_after'][0]} after",
        "",
        f"{'scenario':<52}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9}{'vs DOT':>9}"
        f"{'vs oidc-provider':>18}{'vs hello':>10}",
    ]
    for key, figures in results["scenarios"].items():
        if "@" in key:
            continue
        versus, peer = figures.get("ratio_to_baseline"), figures.get("ratio_to_oidc_provider")
        lines.append(
            f"{figures['label']:<52}{figures['rps']:>9.0f}{figures['p50_ms']:>9.2f}{figures['p99_ms']:>9.2f}"
            f"{figures['server_cpu_ms_per_request']:>9.2f}"
            f"{(f'{versus:.2f}x' if versus else '-'):>9}{(f'{peer:.2f}x' if peer else '-'):>18}"
            f"{figures['ratio_to_hello']:>10.2f}"
        )
    lines.append(
        "(CPU ms: per request, the server's workers plus the PostgreSQL processes serving them, but for the"
        " ones DOT starts per request)"
    )
    for figures in results["scenarios"].values():
        if figures.get("ratio_to_baseline_with_persistent_connections"):
            lines.append(
                f"{figures['label']}: {figures['ratio_to_baseline_with_persistent_connections']:.2f}x "
                "DOT keeping its connections"
            )
    scale = results["scale"]
    if scale:
        sizes = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in scale["sizes"].items())
        lines += [
            "",
            f"At scale ({sizes}; seeded in {scale['seconds']:.0f} s, peak {scale['peak_rss_mb']:.0f} MB):",
            f"{'scenario':<52}{'p50 empty':>11}{'p50 scale':>11}{'ratio':>8}{'req/s empty':>13}{'req/s scale':>13}",
        ]
        for key, figures in scale["scenarios"].items():
            lines.append(
                f"{key:<52}{figures['p50_ms_empty']:>11.2f}{figures['p50_ms_at_scale']:>11.2f}"
                f"{figures['p50_ratio']:>8.2f}{figures['rps_empty']:>13.0f}{figures['rps_at_scale']:>13.0f}"
            )
    lines += ["", "Worker memory after the benchmark (RSS, MB):"]
    for server, values in results["memory_rss_mb"].items():
        lines.append(f"  {server:<21}{', '.join(f'{value:.0f}' for value in values)}")
    lines += ["", "Targets:"]
    for target in results["targets"]:
        value = target["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        verdict = "met" if target["met"] else "NOT MET"
        lines.append(f"  [{verdict:^7}] {target['target']}: {shown} ({target['comparison']} {target['threshold']})")
    return "\n".join(lines)


def build_stacks(*, scenarios: dict, stacks: tuple, keys: tuple, labels: dict, memory: dict, settings: dict) -> dict:
    """``--compare-stacks``: each scenario (``key@stack``) against hello on its own stack and on sync."""
    sync_hello = scenarios["hello@sync"]["rps"]
    compared = {}
    for stack in stacks:
        hello = scenarios[f"hello@{stack}"]["rps"]
        for key in keys:
            figures = scenarios[f"{key}@{stack}"]
            compared[f"{key}@{stack}"] = {
                **figures,
                "stack": stack,
                "scenario": key,
                "label": labels.get(key, "hello view (Django, no database)"),
                "ratio_to_hello_same_stack": _ratio(figures["rps"], hello),
                "ratio_to_sync_hello": _ratio(figures["rps"], sync_hello),
            }
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "stacks": compared,
        "memory_rss_mb": memory,
    }


def stacks_table(results: dict) -> str:
    settings = results["settings"]
    lines = [
        "",
        f"Serving stacks compared: {settings['rounds']} x {settings['duration']} s per scenario (medians), wrk "
        f"{settings['threads']} threads x {settings['connections']} connections, {settings['workers']} workers "
        f"each, {settings['server_threads']} threads a worker for gthread and granian, {settings['cpus']} CPUs, "
        f"load average {settings['load_average_before'][0]} before, {settings['load_average_after'][0]} after",
        "",
        f"{'stack':<10}{'scenario':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9}"
        f"{'vs hello (same stack)':>23}{'vs sync hello':>15}",
    ]
    for figures in results["stacks"].values():
        lines.append(
            f"{figures['stack']:<10}{figures['scenario']:<30}{figures['rps']:>9.0f}{figures['p50_ms']:>9.2f}"
            f"{figures['p99_ms']:>9.2f}{figures['server_cpu_ms_per_request']:>9.2f}"
            f"{figures['ratio_to_hello_same_stack']:>23.2f}{figures['ratio_to_sync_hello']:>15.2f}"
        )
    lines += ["", "Worker memory after the benchmark (RSS, MB):"]
    for server, values in results["memory_rss_mb"].items():
        lines.append(f"  {server:<21}{', '.join(f'{value:.0f}' for value in values)}")
    return "\n".join(lines)
