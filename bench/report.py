"""Regenerate docs/performance.md (tables and PNG plots) from bench/results/*.json.

Hand-written parts are included as they are: the sizing answers (bench/SIZING.md) first, the
analysis (profiles, before/after: bench/NOTES.md) last.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.common import RESULTS, ROOT

DOC = ROOT / "docs" / "performance.md"
IMAGES = ROOT / "docs" / "img"
NOTES = ROOT / "bench" / "NOTES.md"
SIZING = ROOT / "bench" / "SIZING.md"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _first(*names: str) -> tuple[str, dict] | tuple[None, None]:
    for name in names:
        data = _load(name)
        if data:
            return name, data
    return None, None


def _machine(data: dict) -> str:
    m = data.get("machine", {})
    return f"{m.get('cpus')} CPUs, {m.get('processor')}, Python {m.get('python')}"


def scale_section(lines: list[str]) -> None:
    name, data = _first("scale", "scale-quick")
    if not data:
        return
    sizes = list(data["sizes"])
    cases = list(data["sizes"][sizes[0]]["cases"])
    lines += [
        f"## Latency against data size (`{name}`)",
        "",
        f"Machine: {_machine(data)}. {data['requests_per_case']} sequential requests per "
        "case through gunicorn (Procfile configuration). Target: at the largest size each "
        "case within 2× its latency at the smallest.",
        "",
    ]
    header = "| case | " + " | ".join(f"{int(s):,} p50 / p95 ms" for s in sizes) + " | ratio |"
    lines += [header, "|---" * (len(sizes) + 2) + "|"]
    ratios = data.get("ratio_largest_to_smallest_p50", {})
    for case in cases:
        cells = []
        for size in sizes:
            result = data["sizes"][size]["cases"].get(case, {})
            cells.append(
                f"{result['p50_ms']} / {result['p95_ms']}"
                if "p50_ms" in result
                else result.get("skipped", "—")
            )
        ratio = ratios.get(case)
        mark = "" if ratio is None else (" ✅" if ratio <= 2 else " ❌")
        lines.append(f"| {case} | " + " | ".join(cells) + f" | {ratio}{mark} |")
    lines.append("")
    IMAGES.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)
    xs = [int(s) for s in sizes]
    for case in cases:
        ys = [data["sizes"][s]["cases"].get(case, {}).get("p50_ms") for s in sizes]
        if all(y is not None for y in ys):
            ax.plot(xs, ys, marker="o", label=case)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sessions in the database")
    ax.set_ylabel("p50 latency (ms, log scale)")
    ax.set_title("Dashboard reads against data size")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(IMAGES / "scale.png", dpi=110)
    plt.close(fig)
    lines += ["![latency against data size](img/scale.png)", ""]


def load_section(lines: list[str]) -> None:
    name, data = _first("load", "load-quick")
    if not data:
        return
    lines += [
        f"## Throughput side by side (`{name}`)",
        "",
        f"Machine: {_machine(data)}. Concurrency {data['concurrency']}, "
        f"{data['seconds_per_case']} s per case, one gunicorn (Procfile configuration). "
        "Baseline = `GET /api/auth/verify` (JWT check + constant envelope). Targets: reads "
        "≥ 0.5× baseline, writes ≥ 0.3× baseline and ≥ 0.35× pgbench for the comparable "
        "transaction.",
        "",
        "| case | req/s | p50 ms | p99 ms | × baseline | × pgbench |",
        "|---|---|---|---|---|---|",
    ]
    for case, result in data["cases"].items():
        vs_pg = data.get("ratio_to_pgbench", {}).get(case, "")
        lines.append(
            f"| {case} | {result['rps']} | {result['p50_ms']} | {result['p99_ms']} | "
            f"{data['ratio_to_baseline'][case]} | {vs_pg} |"
        )
    pg = {k: v for k, v in data.get("pgbench_tps", {}).items() if v}
    if pg:
        lines += [
            "",
            "pgbench tps for the comparable transaction: "
            + ", ".join(f"{k}: {v:.0f}" for k, v in pg.items()),
        ]
    lines.append("")
    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(data["cases"])
    ax.barh(names, [data["cases"][n]["rps"] for n in names])
    ax.set_xlabel("requests per second")
    ax.invert_yaxis()
    ax.set_title("Throughput per endpoint")
    fig.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMAGES / "load.png", dpi=110)
    plt.close(fig)
    lines += ["![throughput per endpoint](img/load.png)", ""]


def generic_section(lines: list[str], title: str, *names: str) -> None:
    name, data = _first(*names)
    if not data:
        return
    lines += [
        f"## {title} (`{name}`)",
        "",
        "```json",
        json.dumps({k: v for k, v in data.items() if k != "machine"}, indent=2, ensure_ascii=False),
        "```",
        "",
    ]


def day_section(lines: list[str]) -> None:
    from bench.day import markdown

    name, data = _first("day", "day-quick")
    if data:
        image = "img/day-knee.png" if name == "day" and (IMAGES / "day-knee.png").exists() else None
        lines += markdown(name, data, image)


def replica_section(lines: list[str]) -> None:
    from bench.replica import markdown

    name, data = _first("replica", "replica-quick")
    if data:
        lines += markdown(name, data)


def main(argv: list[str] | None = None) -> int:
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` / `make bench-quick` (bench/report.py) from "
        "`bench/results/*.json`; rerun them to reproduce. Analysis and profiles are in "
        "the last section.",
        "",
    ]
    if SIZING.exists():  # the answers first, hand-written from the figures below
        lines += [SIZING.read_text().strip(), ""]
    generic_section(lines, "Data generator", "seed", "seed-quick")
    scale_section(lines)
    load_section(lines)
    generic_section(lines, "Real-time delivery", "ws", "ws-quick")
    generic_section(lines, "Automatic assignment", "assign", "assign-quick")
    day_section(lines)
    replica_section(lines)
    if NOTES.exists():
        lines += [NOTES.read_text().strip(), ""]
    DOC.write_text("\n".join(lines))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
