#!/usr/bin/python3
"""Writes bench/RESULTS.md from every bench/results/*.json (one object per
scenario, written by bench/run): a table of figure, target, met, machine
and date; a table of the ratios of issue 20 (figures.ratios: each figure
over a ceiling measured in the same run, with its target); then each
scenario's method and notes.

    results_table.py RESULTS_DIR OUT.md
"""
import glob
import json
import os
import sys

# The order of the issue; scenarios unknown here come after, by name.
ORDER = ["history", "send", "fcgi_overhead", "idle", "latency", "max_rate",
         "connects", "history_depth", "flood", "group_fanout", "big_group",
         "notify", "peer", "daemons", "hosts"]


def machine_text(m):
    if not m:
        return "?"
    mem = m.get("memory_mib")
    mem = f"{mem / 1024:.0f} GiB" if isinstance(mem, (int, float)) else "?"
    text = f"{m.get('nproc', '?')} × {m.get('cpu', '?')}, {mem}, Linux {m.get('kernel', '?')}"
    cal = m.get("calibration") or {}
    parts = []
    if cal.get("syscall_ns") is not None:
        parts.append(f"system call {cal['syscall_ns']:,} ns, pipe round trip"
                     f" {cal.get('pipe_round_trip_us', '?')} µs")
    if cal.get("select1_per_s") and cal.get("insert_per_s"):
        parts.append(f"SELECT 1 {cal['select1_per_s']:,}/s,"
                     f" INSERT {cal['insert_per_s']:,}/s")
    return "; ".join([text] + parts)


def met_text(r):
    if r.get("error"):
        return "not run"
    met = r.get("met")
    return "yes" if met is True else "no" if met is False else "—"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def profile_lines(scenario, p):
    """The profile of a scenario's step (bench/run profile_step): where
    PostgreSQL's time goes, per message sent."""
    lines = [
        "",
        "## Where the database's time goes",
        "",
        f"{scenario}'s profile step: {p.get('rate')} messages/s, {p.get('sent')}"
        f" sent, p99 {p.get('p99_ms')} ms; PostgreSQL used"
        f" {p.get('postgres_us_per_message')} µs of CPU a message (every process"
        " of the cluster). Times are wall-clock per message sent, waits for"
        " locks and for the disk included. Top-level statements do not"
        " overlap: they are what the daemons ask; nested statements are inside"
        " them; a function's self time leaves out the functions it calls.",
        "",
        "| top-level statement | calls a message | µs a message | blocks a call |",
        "|---|---|---|---|",
    ]
    for x in p.get("top_level") or []:
        lines.append("| " + " | ".join(cell(v) for v in [
            f"`{x.get('statement')}`", x.get("calls_per_message"),
            x.get("us_per_message"), x.get("blocks_per_call")]) + " |")
    lines += ["", "| nested statement | calls a message | µs a message | blocks a call |",
              "|---|---|---|---|"]
    for x in p.get("nested") or []:
        lines.append("| " + " | ".join(cell(v) for v in [
            f"`{x.get('statement')}`", x.get("calls_per_message"),
            x.get("us_per_message"), x.get("blocks_per_call")]) + " |")
    lines += ["", "| function | calls a message | self µs a message |", "|---|---|---|"]
    for x in p.get("functions") or []:
        lines.append("| " + " | ".join(cell(v) for v in [
            x.get("function"), x.get("calls_per_message"),
            x.get("self_us_per_message")]) + " |")
    return lines


def daemons_profile_lines(runs):
    """The top-level statements of the daemons scenario's profiles side
    by side: what each added daemon costs the database, per message."""
    runs = [x for x in runs if x.get("profile")]
    names = []
    for x in runs:
        for st in x["profile"].get("top_level") or []:
            if st["statement"] not in names:
                names.append(st["statement"])
    head = " | ".join(f"{x['daemons']} daemons" for x in runs)
    lines = [
        "",
        "## The database's time by the number of daemons",
        "",
        "The daemons scenario's profile steps (one for each count, at"
        f" {runs[0]['profile'].get('rate')} messages/s): each top-level"
        " statement's calls and wall-clock µs per message sent, and"
        " PostgreSQL's CPU per message.",
        "",
        f"| statement | {head} |",
        "|---|" + "---|" * len(runs),
        "| PostgreSQL CPU µs a message | " + " | ".join(
            str(x["profile"].get("postgres_us_per_message")) for x in runs) + " |",
    ]
    for name in names:
        cells = []
        for x in runs:
            st = next((t for t in x["profile"].get("top_level") or []
                       if t["statement"] == name), None)
            cells.append("—" if st is None else
                         f"{st['calls_per_message']} × → {st['us_per_message']} µs")
        lines.append(f"| `{cell(name)}` | " + " | ".join(cells) + " |")
    return lines


def main():
    results_dir, out = sys.argv[1:3]
    results = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        try:
            with open(path) as f:
                result = json.load(f)
        except (OSError, ValueError) as e:
            print(f"results_table: skipping {path}: {e}", file=sys.stderr)
            continue
        # Other summaries share the directory (chaos.json: docs/CHAOS.md).
        if isinstance(result, dict) and "scenario" in result:
            results.append(result)

    def key(r):
        name = r.get("scenario", "")
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    results.sort(key=key)
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run` (`./stack bench`) from `bench/results/*.json`;"
        " do not edit by hand. Each scenario ran against a stack of its own"
        " (optimized build, 4 push daemons, PostgreSQL with fsync and"
        " synchronous_commit on), with the load generators on the same"
        " machine. Other work on the machine disturbs the figures: the load"
        " average at the start of each scenario is given (1, 5 and 15"
        " minutes). Machines of the same kind differ from day to day: the"
        " machine column gives the calibration of the run, taken before the"
        " first scenario: the time of a trivial system call and of a byte"
        " sent to another process and back through pipes"
        " (`bench/calibrate`), pgbench SELECT 1 with 4 clients, and pgbench"
        " INSERT of a small row into a table with no index, 8 clients, each"
        " committed to disk.",
        "",
        "| scenario | figure | target | met | load at start | machine | date |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        load = r.get("load_average_at_start") or []
        lines.append("| " + " | ".join(cell(x) for x in [
            r.get("scenario", "?"),
            r.get("error") or r.get("summary", ""),
            r.get("target", ""),
            met_text(r),
            " ".join(f"{x:.2f}" for x in load),
            machine_text(r.get("machine")),
            r.get("date", ""),
        ]) + " |")
    ratios = [(r, x) for r in results if not r.get("error")
              for x in (r.get("figures") or {}).get("ratios") or []]
    if ratios:
        lines += [
            "",
            "## Ratios",
            "",
            "Issue 20's targets: each figure over a ceiling measured in the same"
            " run on the same machine (see each scenario's method).",
            "",
            "| scenario | ratio | figure ÷ ceiling | value | target | met | date |",
            "|---|---|---|---|---|---|---|",
        ]
        for r, x in ratios:
            value = x.get("value")
            lines.append("| " + " | ".join(cell(v) for v in [
                r.get("scenario", "?"), x.get("name", "?"),
                f"{x.get('of')} ÷ {x.get('ceiling')}",
                "—" if value is None else value, f"≥ {x.get('target')}",
                "yes" if x.get("met") is True else "no", r.get("date", ""),
            ]) + " |")
    for r in results:
        profile = (r.get("figures") or {}).get("profile")
        if profile and not r.get("error"):
            lines += profile_lines(r.get("scenario", "?"), profile)
    for r in results:
        runs = (r.get("figures") or {}).get("runs") or []
        if r.get("scenario") == "daemons" and not r.get("error") and any(
                x.get("profile") for x in runs):
            lines += daemons_profile_lines(runs)
    lines += ["", "## Method and notes", ""]
    for r in results:
        lines.append(f"### {r.get('scenario', '?')}")
        lines.append("")
        if r.get("method"):
            lines.append(r["method"])
            lines.append("")
        for note in r.get("notes") or []:
            lines.append(f"- {note}")
        if r.get("notes"):
            lines.append("")
        stack = r.get("stack") or {}
        if stack:
            lines.append("Stack: " + ", ".join(f"{k} {v}" for k, v in stack.items())
                         + f". Took {r.get('duration', '?')} s.")
            lines.append("")
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
